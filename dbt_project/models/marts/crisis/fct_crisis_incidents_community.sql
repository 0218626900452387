{#- One row per community-wide crisis: the signals of the whole community (platform/account 'all'),
    which catch a crisis spread thin over several accounts. Kept apart from fct_crisis_incidents so
    that a sum over the accounts' crises does not count one twice. -#}
select * from {{ ref('int_crisis_episodes') }}
where platform = 'all'
