-- Every attribution model credits exactly the won revenue and the won deals: per model,
-- attribution_by_channel sums to the revenue exactly (DECIMAL, no tolerance) and to the count
-- of the live won deals in int_deals_attributed (the weights are DOUBLE: to 1e-6). Returns the
-- models that do not.
with

won as (

    select
        coalesce(sum(amount_in_reporting_currency), 0) as revenue,
        count(*) as customers
    from {{ ref('int_deals_attributed') }}
    where is_closed_won and closed_at is not null

),

models as (

    select * from (values ('first_touch'), ('last_touch'), ('linear'), ('position_based'), ('time_decay')) as m (attribution_model)

),

attributed as (

    select
        models.attribution_model,
        coalesce(sum(by_channel.attributed_revenue), 0) as revenue,
        coalesce(sum(by_channel.attributed_customers), 0) as customers
    from models
    left join {{ ref('attribution_by_channel') }} as by_channel
        on models.attribution_model = by_channel.attribution_model
    group by models.attribution_model

)

select
    attributed.attribution_model,
    attributed.revenue as attributed_revenue,
    won.revenue as won_revenue,
    attributed.customers as attributed_customers,
    won.customers as won_customers
from attributed
cross join won
where attributed.revenue != won.revenue
    or abs(attributed.customers - won.customers) > 0.000001
