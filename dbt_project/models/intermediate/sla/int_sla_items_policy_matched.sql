{{ config(materialized='view') }}
-- Each item with its SLA policy: the first policy (by position) of the version in force when the item
-- arrived whose every listed field holds the item's value; none when no policy matches (no
-- catch-all) or no version was in force. Matching runs on the items' distinct profiles (version x
-- platform x channel x account x priority x intent: a few hundred) rather than on every item, whose
-- per-field comparison was a third of the SLA build's time; items then join their profile by equality.
{{ sla_policy_matched('select * from ' ~ ref('int_sla_items')) }}
