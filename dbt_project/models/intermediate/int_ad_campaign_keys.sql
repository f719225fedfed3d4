-- The keys a session's or contact's utm_campaign can name an ad campaign by (macros/
-- ad_platforms.sql, var ad_campaign_match): every campaign with delivery, once under its id
-- and once under each name it had in the loaded delivery (a renamed campaign's old links
-- still carry the old name), lower-cased and trimmed. campaign_name is its latest name.
with

delivery as (

    select * from {{ ref('int_ad_delivery_unioned') }}

),

campaigns as (

    select
        platform,
        ad_account_id,
        campaign_id,
        coalesce({{ value_at_max('campaign_name', 'date_day') }}, campaign_id) as campaign_name
    from delivery
    where campaign_id is not null
    group by platform, ad_account_id, campaign_id

),

keys as (

    select
        platform,
        ad_account_id,
        campaign_id,
        'id' as key_kind,
        lower(trim(campaign_id)) as match_key
    from campaigns

    union

    select distinct
        platform,
        ad_account_id,
        campaign_id,
        'name' as key_kind,
        lower(trim(campaign_name)) as match_key
    from delivery
    where campaign_id is not null and nullif(trim(campaign_name), '') is not null

)

select
    keys.platform,
    keys.ad_account_id,
    keys.campaign_id,
    campaigns.campaign_name,
    keys.key_kind,
    keys.match_key
from keys
inner join campaigns
    on
        keys.platform = campaigns.platform
        and keys.ad_account_id = campaigns.ad_account_id
        and keys.campaign_id = campaigns.campaign_id
