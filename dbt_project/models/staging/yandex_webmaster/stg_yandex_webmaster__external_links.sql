-- One row per host, snapshot and link (Yandex Webmaster's external link samples).
with

source as (

    select * from {{ source_or_empty('yandex_webmaster', 'external_links',
                                     {'snapshot_date': 'date', 'source_url': 'varchar', 'destination_url': 'varchar'}) }}

),

renamed as (

    select
        _account_id as host_id,
        snapshot_date,
        source_url,
        lower(regexp_extract(source_url, '^[A-Za-z]+://([^/:?#]+)', 1)) as source_domain,
        destination_url,
        cast(_record->>'$.discovery_date' as date) as discovery_date,
        cast(_record->>'$.source_last_access_date' as date) as source_last_access_date,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
