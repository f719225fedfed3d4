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
        {{ safe_divide('revenue - spend', 'spend') }} as roi,
        {{ safe_divide('spend', 'customers') }} as cac,
        spend > 0 and revenue < spend as is_loss_making,
        spend > 0 and (customers = 0 or spend / customers > {{ var('target_cac') }}) as is_above_target_cac,
        {{ safe_divide('spend', 'sum(spend) over (partition by budget_month)') }} as current_budget_share
    from budget_lines

),

monthly_pool as (

    select
        budget_month,
        coalesce(sum(case when is_loss_making then current_budget_share * {{ var('budget_loss_making_cut') }} end), 0)
            as share_to_move,
        sum(case when roi > 0 then roi end) as total_positive_roi
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
        end as double) as recommended_budget_share
    from scored_lines
    inner join monthly_pool
        on scored_lines.budget_month = monthly_pool.budget_month

),

final as (

    select
        budget_month,
        {% for column in line_columns %}{{ column }},
        {% endfor -%}
        cast(spend as double) as spend,
        cast(revenue as double) as revenue,
        cast(customers as bigint) as customers,
        roi,
        cac,
        cast({{ var('target_cac') }} as double) as target_cac,
        is_above_target_cac,
        is_loss_making,
        cast(return_rank as integer) as return_rank,
        coalesce(current_budget_share, 0) as current_budget_share,
        recommended_budget_share,
        recommended_budget_share - coalesce(current_budget_share, 0) as budget_share_change,
        recommended_budget_share * sum(spend) over (partition by budget_month) as recommended_spend
    from recommended_lines

)

select * from final
{%- endmacro %}
