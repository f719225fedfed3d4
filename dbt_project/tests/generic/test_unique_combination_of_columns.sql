{#
    Fails for every combination of the given columns that occurs more than once:
    the compound-key counterpart of `unique` (dbt_utils has one; hub packages
    cannot be installed here).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
