-- Attribution per model, channel and month of the close: the customers (deals) and revenue
-- each channel is credited with. Customers are fractional under the multi-touch models (a
-- deal's weights sum to 1 per model), so each model's customers sum to the won deals and
-- its revenue to the won revenue.
{%- set models = ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}
with

touches as (

    select * from {{ ref('attribution_touches') }}

),

per_model as (

    {%- for model in models %}
        select
            '{{ model }}' as attribution_model,
            channel,
            close_month,
            deal_id,
            {{ model }}_weight as weight,
            {{ model }}_revenue as revenue
        from touches
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

aggregated as (

    select
        attribution_model,
        channel,
        close_month,
        -- weights added through DECIMAL and revenue as a DECIMAL: the same on every run
        {{ sum_exactly('weight') }} as attributed_customers,
        cast(sum(revenue) as {{ money_type() }}) as attributed_revenue,
        cast(count(distinct case when weight > 0 then deal_id end) as bigint) as deals_touched
    from per_model
    group by attribution_model, channel, close_month

)

select
    attribution_model || ':' || channel || ':' || {{ year_month_text('close_month') }} as attribution_by_channel_id,
    *
from aggregated
