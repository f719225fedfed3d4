-- One row per sent campaign: Mailchimp's report counters as of the last read (they
-- keep growing for a while after the send; recent campaigns are re-read every run).
with

source as (

    select * from {{ source_or_empty('mailchimp', 'reports', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as campaign_id,
        nullif({{ json_text('_record', 'list_id') }}, '') as list_id,
        nullif({{ json_text('_record', 'campaign_title') }}, '') as campaign_title,
        nullif({{ json_text('_record', 'subject_line') }}, '') as subject_line,
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'send_time') ~ ", '')") }} as sent_at,

        cast({{ json_text('_record', 'emails_sent') }} as bigint) as emails_sent,
        cast({{ json_text('_record', 'bounces.hard_bounces') }} as bigint) as hard_bounces,
        cast({{ json_text('_record', 'bounces.soft_bounces') }} as bigint) as soft_bounces,
        cast({{ json_text('_record', 'bounces.syntax_errors') }} as bigint) as syntax_errors,
        cast({{ json_text('_record', 'unsubscribed') }} as bigint) as unsubscribes,
        cast({{ json_text('_record', 'abuse_reports') }} as bigint) as abuse_reports,

        cast({{ json_text('_record', 'opens.opens_total') }} as bigint) as opens,
        cast({{ json_text('_record', 'opens.unique_opens') }} as bigint) as unique_opens,
        cast({{ json_text('_record', 'opens.open_rate') }} as {{ type_double() }}) as open_rate,
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'opens.last_open') ~ ", '')") }} as last_open_at,

        cast({{ json_text('_record', 'clicks.clicks_total') }} as bigint) as clicks,
        cast({{ json_text('_record', 'clicks.unique_clicks') }} as bigint) as unique_clicks,
        cast({{ json_text('_record', 'clicks.unique_subscriber_clicks') }} as bigint) as unique_subscriber_clicks,
        cast({{ json_text('_record', 'clicks.click_rate') }} as {{ type_double() }}) as click_rate,
        {{ iso_to_utc_timestamp("nullif(" ~ json_text('_record', 'clicks.last_click') ~ ", '')") }} as last_click_at,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
