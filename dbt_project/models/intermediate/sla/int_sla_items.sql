{{ config(materialized='view') }}
-- One row per item that needs a response (docs/response-times.md): the first live member message of
-- a turn that is not spam, with the brand reply that ended its turn and the account it is addressed
-- to. A view over the turns, which hold the sorting: it adds the post's account and link, and for
-- DMs and mentions (no post) the first configured account of the platform.
{{ sla_items(ref('int_sla_thread_turns')) }}
