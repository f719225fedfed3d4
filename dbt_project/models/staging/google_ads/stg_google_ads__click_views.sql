-- One row per Google Ads click (searchStream FROM click_view, one account day per query):
-- its gclid and the campaign and ad group it was a click on, so a CRM contact that kept the
-- gclid of an auto-tagged click (HubSpot's hs_google_click_id) finds its campaign.
with

source as (

    select * from {{ source_or_empty('google_ads', 'click_views', {'gclid': 'varchar', 'date': 'date'}) }}

),

renamed as (

    select
        gclid,
        coalesce({{ json_text('_record', 'customer.id') }}, _account_id) as customer_id,
        {{ json_text('_record', 'campaign.id') }} as campaign_id,
        {{ json_text('_record', 'campaign.name') }} as campaign_name,
        {{ json_text('_record', 'adGroup.id') }} as ad_group_id,
        -- the click's day in the account's time zone
        date as date_day,

        _record as record_json,

        _loaded_at at time zone 'UTC' as loaded_at,
        _batch_id as batch_id

    from source

)

select * from renamed
