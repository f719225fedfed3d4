-- One row per deal and associated contact, from the associations the deals list
-- call returns. A pair can be listed once per association type: keep it once.
with

source as (

    select * from {{ source_or_empty('hubspot', 'deals', {'id': 'varchar'}) }}

),

associations as (

    select
        id as deal_id,
        {{ json_array_elements(json_value('_record', 'associations.contacts.results')) }} as association
    from source

),

renamed as (

    select distinct
        deal_id,
        {{ json_text('association', 'id') }} as contact_id
    from associations

)

select * from renamed
