-- One row per live contact and lifecycle stage it has a date for.
with

contacts as (

    select * from {{ ref('int_contacts_attributed') }}

),

stage_entries as (

    {%- for stage in hubspot_lifecycle_stages() %}

        select
            contact_id,
            '{{ stage.name }}' as lifecycle_stage,
            {{ stage.order }} as stage_order,
            became_{{ stage.name }}_at as entered_at,
            channel,
            source,
            medium,
            campaign
        from contacts
        where became_{{ stage.name }}_at is not null

        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from stage_entries
