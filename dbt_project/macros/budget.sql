{#
    The budget rule of channel_budget_recommendation and campaign_budget_recommendation,
    as CTEs after a CTE `budget_lines` holding one row per budget_month and budget line
    (line_columns) with spend, revenue and customers (reporting currency).

    Within each month, among the lines with spend (the paid budget):
      current share   = the line's spend / the month's spend;
      loss-making     = roi < 0, i.e. revenue < spend;
      a loss-making line keeps (1 - var budget_loss_making_cut) of its current share;
      the share cut away is handed to the lines with roi > 0, in proportion to their roi;
      a line with roi = 0 keeps its share;
      if no line has roi > 0 there is nowhere better to move money: every line keeps its share.
    Lines without spend (organic) get 0. The shares of a month with spend sum to 1.
#}
{% macro budget_recommendation_ctes(line_columns) -%}

scored_lines as (

    select
        budget_lines.*,
        -- ratios: DOUBLE, one division of exact DECIMAL sums, so the same bytes on every run
        {{ safe_divide('revenue - spend', 'spend') }} as roi,
        {{ divide_money('spend', 'customers') }} as cac,
        spend > 0 and revenue < spend as is_loss_making,
        spend > 0 and (customers = 0 or spend > cast({{ var('target_cac') }} as {{ unit_money_type() }}) * customers)
            as is_above_target_cac,
        {{ safe_divide('spend', 'sum(spend) over (partition by budget_month)') }} as current_budget_share,
        sum(spend) over (partition by budget_month) as month_spend
    from budget_lines

),

monthly_pool as (

    select
        budget_month,
        -- the share cut away: one division of exact sums
        coalesce({{ safe_divide('sum(case when is_loss_making then spend end)', 'sum(spend)') }}, 0)
            * {{ var('budget_loss_making_cut') }} as share_to_move,
        {{ sum_exactly('case when roi > 0 then roi end') }} as total_positive_roi
    from scored_lines
    group by budget_month

),

recommended_lines as (

    select
        scored_lines.*,
        case when scored_lines.spend > 0 then
            rank() over (partition by scored_lines.budget_month, scored_lines.spend > 0 order by scored_lines.roi desc)
        end as return_rank,
        cast(case
            when scored_lines.spend <= 0 then 0
            when monthly_pool.total_positive_roi is null then scored_lines.current_budget_share
            when scored_lines.is_loss_making
                then scored_lines.current_budget_share * (1 - {{ var('budget_loss_making_cut') }})
            when scored_lines.roi > 0
                then scored_lines.current_budget_share
                    + monthly_pool.share_to_move * scored_lines.roi / monthly_pool.total_positive_roi
            else scored_lines.current_budget_share
        end as {{ type_double() }}) as recommended_budget_share
    from scored_lines
    inner join monthly_pool
        on scored_lines.budget_month = monthly_pool.budget_month

),

recommended_cents as (

    -- the month's spend shared out by recommended_budget_share in whole cents that add up
    -- to it exactly (largest remainder; ties go to the line named first)
    select
        recommended_lines.*,
        {{ allocate_units(decimal_units('month_spend', 2), 'recommended_budget_share', ['budget_month'],
                          line_columns) }} as recommended_spend_cents
    from recommended_lines

),

final as (

    select
        budget_month,
        {% for column in line_columns %}{{ column }},
        {% endfor -%}
        cast(spend as {{ money_type() }}) as spend,
        cast(revenue as {{ money_type() }}) as revenue,
        cast(customers as bigint) as customers,
        roi,
        cac,
        cast({{ var('target_cac') }} as {{ unit_money_type() }}) as target_cac,
        is_above_target_cac,
        is_loss_making,
        cast(return_rank as integer) as return_rank,
        coalesce(current_budget_share, 0) as current_budget_share,
        recommended_budget_share,
        recommended_budget_share - coalesce(current_budget_share, 0) as budget_share_change,
        {{ units_to_decimal('recommended_spend_cents', 2) }} as recommended_spend
    from recommended_cents

)

select * from final
{%- endmacro %}
