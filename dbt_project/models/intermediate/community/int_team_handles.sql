-- One row per (platform, author_id) handle of a team member: their replies are the brand speaking.
with pairs as (
    select
        member_id,
        trim({{ split_regex_to_rows('handles', "'[\\s,]+'") }}) as pair
    from {{ ref('stg_social__team') }}
    where handles is not null
)

select distinct
    member_id,
    lower(split_part(pair, ':', 1)) as platform,
    substr(pair, length(split_part(pair, ':', 1)) + 2) as author_id
from pairs
where pair like '%:%'
