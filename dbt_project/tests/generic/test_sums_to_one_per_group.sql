{#
    Fails for every group (group_by_columns) whose column does not sum to 1 (within
    tolerance), e.g. budget shares per month. With weight_column, only groups where that
    column sums to more than 0 must sum to 1 (a month without spend has no budget to share).
#}
{% test sums_to_one_per_group(model, column_name, group_by_columns, weight_column=none, tolerance=0.000001) %}

select
    {{ group_by_columns | join(', ') }},
    sum({{ column_name }}) as total
from {{ model }}
group by {{ group_by_columns | join(', ') }}
having abs(coalesce(sum({{ column_name }}), 0) - 1) > {{ tolerance }}
    {%- if weight_column %}
    and sum({{ weight_column }}) > 0
    {%- endif %}

{% endtest %}
