{#- the trend windows, in days before the week's own start (weeks start on Mondays) -#}
{%- set trend_weeks = var('content_trend_weeks') | int -%}
{%- set trend_window = "range between interval '" ~ (7 * (trend_weeks - 1)) ~ " days' preceding and current row" -%}
{%- set previous_trend_window = "range between interval '" ~ (7 * (2 * trend_weeks - 1)) ~ " days' preceding and interval '" ~ (7 * trend_weeks) ~ " days' preceding" -%}
-- Website content per page and week (Monday to Sunday, the property's days): page views,
-- entrances, exits, engagement, the week-over-week change, and flags for the week's top
-- pages and for pages whose traffic is falling or rising over several weeks. Formulas are
-- in the model docs (content_performance.yml); thresholds are vars in dbt_project.yml. Exits come
-- from GA4's BigQuery export (the Data API has none): NULL for a week the export does not cover.
with

pages as (

    select * from {{ ref('stg_ga4__pages_daily') }}

),

export_pages as (

    select * from {{ ref('stg_ga4__export_pages_daily') }}

),

sessions as (

    select * from {{ ref('stg_ga4__sessions_daily') }}

),

page_weeks as (

    select
        property_id,
        page_path,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        sum(page_views) as page_views,
        sum(sessions) as unique_page_views,
        sum(engagement_duration_s) as engagement_duration_s
    from pages
    group by property_id, page_path, cast(date_trunc('week', date_day) as date)

),

-- exits and the page views they are a share of, both counted from the export's events
export_weeks as (

    select
        property_id,
        page_path,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        sum(exits) as exits,
        sum(page_views) as export_page_views
    from export_pages
    group by property_id, page_path, cast(date_trunc('week', date_day) as date)

),

-- the days of each week the export has rows for: a week's exits are only whole when the export
-- covers every day the reports have (its daily table comes some hours after the reports' day)
export_coverage as (

    select
        property_id,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        count(distinct date_day) as export_days
    from export_pages
    group by property_id, cast(date_trunc('week', date_day) as date)

),

-- sessions that started on the page (the sessions report's landing page)
landing_weeks as (

    select
        property_id,
        landing_page as page_path,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        sum(sessions) as entrances,
        sum(engaged_sessions) as engaged_entrances
    from sessions
    group by property_id, landing_page, cast(date_trunc('week', date_day) as date)

),

property_days as (

    select
        property_id,
        date_day
    from pages
    union
    select
        property_id,
        date_day
    from sessions

),

property_weeks as (

    select
        property_id,
        cast(date_trunc('week', date_day) as date) as week_start_date,
        count(*) as days_with_data
    from property_days
    group by property_id, cast(date_trunc('week', date_day) as date)

),

-- which comparisons a week supports: only whole weeks are compared, so the week still
-- in progress never reads as a fall
property_weeks_compared as (

    select
        property_id,
        week_start_date,
        days_with_data,
        days_with_data = 7 as is_complete_week,
        sum(case when days_with_data = 7 then 1 else 0 end) over (
            partition by property_id order by week_start_date
            range between interval '7 days' preceding and current row
        ) = 2 as has_previous_complete_week,
        sum(case when days_with_data = 7 then 1 else 0 end) over (
            partition by property_id order by week_start_date
            range between interval '{{ 7 * (2 * trend_weeks - 1) }} days' preceding and current row
        ) = {{ 2 * trend_weeks }} as has_trend_history
    from property_weeks

),

page_week_numbers as (

    select
        coalesce(page_weeks.property_id, landing_weeks.property_id) as property_id,
        coalesce(page_weeks.page_path, landing_weeks.page_path) as page_path,
        coalesce(page_weeks.week_start_date, landing_weeks.week_start_date) as week_start_date,
        coalesce(page_weeks.page_views, 0) as page_views,
        coalesce(page_weeks.unique_page_views, 0) as unique_page_views,
        coalesce(landing_weeks.entrances, 0) as entrances,
        coalesce(landing_weeks.engaged_entrances, 0) as engaged_entrances,
        coalesce(page_weeks.engagement_duration_s, 0) as engagement_duration_s
    from page_weeks
    full outer join landing_weeks
        on
            page_weeks.property_id = landing_weeks.property_id
            and page_weeks.page_path = landing_weeks.page_path
            and page_weeks.week_start_date = landing_weeks.week_start_date

),

page_week_exits as (

    select
        numbers.*,
        case when coverage.export_days = weeks.days_with_data then coalesce(export_weeks.exits, 0) end as exits,
        case when coverage.export_days = weeks.days_with_data then coalesce(export_weeks.export_page_views, 0) end
            as export_page_views
    from page_week_numbers as numbers
    inner join property_weeks as weeks
        on
            numbers.property_id = weeks.property_id
            and numbers.week_start_date = weeks.week_start_date
    left join export_coverage as coverage
        on
            numbers.property_id = coverage.property_id
            and numbers.week_start_date = coverage.week_start_date
    left join export_weeks
        on
            numbers.property_id = export_weeks.property_id
            and numbers.page_path = export_weeks.page_path
            and numbers.week_start_date = export_weeks.week_start_date

),

page_week_history as (

    select
        page_week_exits.*,
        -- a week without a row for the page had no views of it: sums over missing weeks are 0
        coalesce(sum(page_week_exits.page_views) over (
            partition by page_week_exits.property_id, page_week_exits.page_path order by page_week_exits.week_start_date
            range between interval '7 days' preceding and interval '7 days' preceding
        ), 0) as previous_week_page_views_any,
        sum(page_week_exits.page_views) over (
            partition by page_week_exits.property_id, page_week_exits.page_path
            order by page_week_exits.week_start_date {{ trend_window }}
        ) as trend_page_views_any,
        coalesce(sum(page_week_exits.page_views) over (
            partition by page_week_exits.property_id, page_week_exits.page_path
            order by page_week_exits.week_start_date {{ previous_trend_window }}
        ), 0) as previous_trend_page_views_any,
        rank()
            over (
                partition by page_week_exits.property_id, page_week_exits.week_start_date order by page_week_exits.page_views desc
            )
            as page_views_rank
    from page_week_exits

),

final as (

    select
        history.property_id,
        history.page_path,
        history.week_start_date,
        cast(weeks.days_with_data as integer) as days_with_data,
        weeks.is_complete_week,
        cast(history.page_views as bigint) as page_views,
        cast(history.unique_page_views as bigint) as unique_page_views,
        cast(history.entrances as bigint) as entrances,
        cast(history.exits as bigint) as exits,
        {{ safe_divide('history.exits', 'history.export_page_views') }} as exit_rate,
        1 - {{ safe_divide('history.engaged_entrances', 'history.entrances') }} as bounce_rate,
        {{ safe_divide('history.engagement_duration_s', 'history.page_views') }} as avg_time_on_page_s,
        case when weeks.has_previous_complete_week then cast(history.previous_week_page_views_any as bigint) end
            as previous_week_page_views,
        case
            when weeks.has_previous_complete_week then
                {{ safe_divide(
                    'history.page_views - history.previous_week_page_views_any',
                    'history.previous_week_page_views_any'
                ) }}
        end as page_views_wow_change,
        cast(history.page_views_rank as integer) as page_views_rank,
        history.page_views > 0 and history.page_views_rank <= {{ var('content_top_pages') }} as is_top_page,
        case when weeks.has_trend_history then cast(history.trend_page_views_any as bigint) end as trend_page_views,
        case when weeks.has_trend_history then cast(history.previous_trend_page_views_any as bigint) end
            as previous_trend_page_views,
        case
            when weeks.has_trend_history then
                {{ safe_divide(
                    'history.trend_page_views_any - history.previous_trend_page_views_any',
                    'history.previous_trend_page_views_any'
                ) }}
        end as page_views_trend_change
    from page_week_history as history
    inner join property_weeks_compared as weeks
        on
            history.property_id = weeks.property_id
            and history.week_start_date = weeks.week_start_date

),

flagged as (

    select
        *,
        coalesce(
            previous_trend_page_views >= {{ var('content_trend_min_page_views') }}
            and page_views_trend_change <= -{{ var('content_trend_threshold') }},
            false
        ) as is_falling,
        coalesce(
            previous_trend_page_views >= {{ var('content_trend_min_page_views') }}
            and page_views_trend_change >= {{ var('content_trend_threshold') }},
            false
        ) as is_rising
    from final

)

select * from flagged
