{#
    Every value is one of the channels of seeds/channels.csv (the one list of channels),
    or one of `also` (e.g. 'unattributed', 'all'). Fails with each unknown value and its
    rows: fix the value (a mapping seed row, a KPI goal) or the list.
#}
{% test is_a_channel(model, column_name, also=[]) %}

select {{ column_name }} as unknown_channel, count(*) as rows_with_it
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (select channel from {{ ref('channels') }})
    {%- for value in also %}
    and {{ column_name }} != '{{ value }}'
    {%- endfor %}
group by {{ column_name }}

{% endtest %}
