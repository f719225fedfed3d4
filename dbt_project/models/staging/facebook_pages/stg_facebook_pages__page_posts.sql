-- One row per Facebook page post, counters as last read. Graph omits `shares` when a
-- post has none, so a missing count is 0, not unknown.
with

source as (

    select * from {{ source_or_empty('facebook_pages', 'page_posts', {'id': 'varchar'}) }}

),

renamed as (

    select
        id as post_id,
        _account_id as page_id,
        {{ json_text('_record', 'message') }} as message,
        {{ json_text('_record', 'status_type') }} as status_type,
        {{ json_text('_record', 'permalink_url') }} as permalink_url,
        {{ iso_to_utc_timestamp(json_text('_record', 'created_time')) }} as published_at,
        cast(coalesce({{ json_text('_record', 'reactions.summary.total_count') }}, '0') as bigint) as reactions,
        cast(coalesce({{ json_text('_record', 'comments.summary.total_count') }}, '0') as bigint) as comments,
        cast(coalesce({{ json_text('_record', 'shares.count') }}, '0') as bigint) as shares,

        -- every field Graph sent, including ones added later
        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
