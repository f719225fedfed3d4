-- One row per won deal and touch of its contact in the var('attribution_lookback_days')
-- days before the close (close instant included), with each attribution model's weight
-- and the revenue it credits to the touch. A won deal without such a touch gets one row
-- with channel 'unattributed' and every weight 1, so each model's revenue sums to the
-- total won revenue. Touches are ordered by time (then touch id, so ties stay stable).
-- Weights are DOUBLE; the revenue a touch is credited with is a DECIMAL: the deal's revenue
-- shared out by the model's weights in whole cents that add up to the deal's revenue exactly
-- (macros/currency.sql, allocate_units), so every model sums to the won revenue to the cent.
{%- set lookback_days = var('attribution_lookback_days', 90) %}
{%- set half_life_days = var('attribution_half_life_days', 7) %}
with

won_deals as (

    select
        deal_id,
        primary_contact_id as contact_id,
        closed_at,
        amount_in_reporting_currency as deal_revenue
    from {{ ref('int_deals_attributed') }}
    where is_closed_won and closed_at is not null

),

touches as (

    select * from {{ ref('int_touches') }}

),

in_window as (

    select
        won_deals.deal_id,
        won_deals.contact_id,
        won_deals.closed_at,
        won_deals.deal_revenue,
        touches.touch_id,
        touches.touched_at,
        touches.channel,
        touches.source,
        touches.medium,
        touches.campaign,
        {{ epoch_milliseconds('won_deals.closed_at') }} - {{ epoch_milliseconds('touches.touched_at') }} as ms_before_close
    from won_deals
    inner join touches
        on
            won_deals.contact_id = touches.contact_id
            and won_deals.closed_at >= touches.touched_at
            and touches.touched_at >= won_deals.closed_at - {{ days_interval(lookback_days) }}

),

numbered as (

    select
        *,
        {{ milliseconds_to_days('ms_before_close') }} as days_before_close,
        row_number() over (partition by deal_id order by touched_at, touch_id) as touch_number,
        count(*) over (partition by deal_id) as touches_in_window,
        -- time decay: a touch half_life days before the close counts half as much as one at the close
        pow(0.5, {{ milliseconds_to_days('ms_before_close') }} / {{ half_life_days }}) as decay
    from in_window

),

decay_totals as (

    -- added in touch order (a sum over the ordered list), so the total, and each weight,
    -- is the same on every run; a window sum may add a deal's touches in any order
    select
        deal_id,
        {{ sum_in_order('decay', 'touch_number') }} as total_decay
    from numbered
    group by deal_id

),

weighted as (

    select
        numbered.deal_id,
        numbered.contact_id,
        numbered.closed_at,
        numbered.deal_revenue,
        numbered.touch_id,
        numbered.touch_number,
        numbered.touches_in_window,
        numbered.touched_at,
        numbered.days_before_close,
        numbered.channel,
        numbered.source,
        numbered.medium,
        numbered.campaign,
        case when numbered.touch_number = 1 then 1.0 else 0.0 end as first_touch_weight,
        case when numbered.touch_number = numbered.touches_in_window then 1.0 else 0.0 end as last_touch_weight,
        cast(1 as {{ type_double() }}) / numbered.touches_in_window as linear_weight,
        case
            when numbered.touches_in_window = 1 then 1.0
            when numbered.touches_in_window = 2 then 0.5
            when numbered.touch_number = 1 or numbered.touch_number = numbered.touches_in_window then 0.4
            else cast(0.2 as {{ type_double() }}) / (numbered.touches_in_window - 2)
        end as position_based_weight,
        numbered.decay / decay_totals.total_decay as time_decay_weight
    from numbered
    inner join decay_totals
        on numbered.deal_id = decay_totals.deal_id

),

unattributed as (

    select
        won_deals.deal_id,
        won_deals.contact_id,
        won_deals.closed_at,
        won_deals.deal_revenue,
        cast(null as varchar) as touch_id,
        cast(null as bigint) as touch_number,
        cast(0 as bigint) as touches_in_window,
        cast(null as timestamp) as touched_at,
        cast(null as {{ type_double() }}) as days_before_close,
        'unattributed' as channel,
        '(none)' as source,
        '(none)' as medium,
        '(none)' as campaign,
        1.0 as first_touch_weight,
        1.0 as last_touch_weight,
        1.0 as linear_weight,
        1.0 as position_based_weight,
        1.0 as time_decay_weight
    from won_deals
    where not exists (
        select 1 from in_window
        where in_window.deal_id = won_deals.deal_id
    )

),

unioned as (

    select * from weighted
    union all
    select * from unattributed

),

-- a Jinja loop writes this column list, whose layout the indent rule cannot follow
-- noqa: disable=LT02
credited as (

    select
        *,
        {%- for model in ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay'] %}
        {{ allocate_units(decimal_units('deal_revenue', 2), model ~ '_weight', ['deal_id'], ['touch_number']) }}
            as {{ model }}_cents{{ ',' if not loop.last }}
        {%- endfor %}
    from unioned

)
-- noqa: enable=LT02

select
    deal_id || ':' || coalesce(touch_id, 'unattributed') as attribution_touch_id,
    deal_id,
    contact_id,
    touch_id,
    cast(touch_number as bigint) as touch_number,
    cast(touches_in_window as bigint) as touches_in_window,
    touched_at,
    closed_at,
    cast(date_trunc('month', closed_at) as date) as close_month,
    cast(days_before_close as {{ type_double() }}) as days_before_close,
    channel,
    source,
    medium,
    campaign,
    cast(deal_revenue as {{ money_type() }}) as deal_revenue,
    cast(first_touch_weight as {{ type_double() }}) as first_touch_weight,
    cast(last_touch_weight as {{ type_double() }}) as last_touch_weight,
    cast(linear_weight as {{ type_double() }}) as linear_weight,
    cast(position_based_weight as {{ type_double() }}) as position_based_weight,
    cast(time_decay_weight as {{ type_double() }}) as time_decay_weight,
    {{ units_to_decimal('first_touch_cents', 2) }} as first_touch_revenue,
    {{ units_to_decimal('last_touch_cents', 2) }} as last_touch_revenue,
    {{ units_to_decimal('linear_cents', 2) }} as linear_revenue,
    {{ units_to_decimal('position_based_cents', 2) }} as position_based_revenue,
    {{ units_to_decimal('time_decay_cents', 2) }} as time_decay_revenue
from credited
