-- One row per term: the readable form, language and kind most of its uses have.
with terms_mentioned as (
    select * from {{ ref('int_terms_mentioned') }}
)

select ranked.term, ranked.surface, ranked.language, ranked.kind
from (
    select term, surface, language, kind,
        row_number() over (partition by term order by count(*) desc, surface asc, language asc) as rn
    from terms_mentioned
    group by term, surface, language, kind
) as ranked
where ranked.rn = 1
