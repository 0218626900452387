{#- One row per crisis and brand account (int_crisis_episodes says how signals become a crisis). -#}
select * from {{ ref('int_crisis_episodes') }}
where platform <> 'all'
