{{ config(severity='warn') }}
-- A utm_campaign key (a name or id the rule var ad_campaign_match compares with) that
-- names campaigns of more than one ad platform or account: sessions and contacts that send
-- it go to one of them (the one whose platform's channel they are in, else the lowest ids:
-- macros/ad_platforms.sql), so the other's cost per lead looks worse than it is. Rename one
-- campaign, or tag the links with the campaign id and set ad_campaign_match: id.
select
    key_kind,
    match_key,
    count(*) as campaigns,
    string_agg(platform || ' ' || coalesce(ad_account_id, '?') || ' ' || campaign_id, ', ' order by platform, ad_account_id, campaign_id)
        as named_campaigns
from {{ ref('int_ad_campaign_keys') }}
where key_kind in ('{{ ad_campaign_match_kinds() | join("', '") }}')
group by key_kind, match_key
having count(*) > 1
