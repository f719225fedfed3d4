-- One row per contact and lifecycle stage it entered, in the order it entered them.
-- A stage ends when the next one (by entered_at) begins; the latest is the current one.
-- days_in_stage is left NULL for the current stage: its duration is not known yet, and
-- a number measured to some cut-off would drag averages of completed stages down.
with

stage_entries as (

    select * from {{ ref('int_contact_stages_unpivoted') }}

),

sequenced as (

    select
        contact_id,
        lifecycle_stage,
        stage_order,
        entered_at,
        lead(entered_at) over contact_timeline as exited_at,
        lead(lifecycle_stage) over contact_timeline as next_stage,
        row_number() over contact_timeline = count(*) over (partition by contact_id) as is_current,
        channel
    from stage_entries
    -- by time; stages entered at the same instant keep funnel order
    window contact_timeline as (partition by contact_id order by entered_at, stage_order)

),

final as (

    select
        contact_id,
        lifecycle_stage,
        cast(stage_order as integer) as stage_order,
        entered_at,
        exited_at,
        {{ days_between('entered_at', 'exited_at') }} as days_in_stage,
        is_current,
        channel,
        next_stage
    from sequenced

)

select * from final
