{#
    HubSpot CRM v3 sends every property as a string or null, and clears a property
    by sending ''. These helpers read a property out of the raw `_record` JSON
    with '' treated as null.
#}

{% macro hubspot_property(property_name) -%}
    nullif({{ json_text('_record', 'properties.' ~ property_name) }}, '')
{%- endmacro %}


{#
    The lifecycle stages in funnel order: HubSpot's internal value, the friendly name
    the models use, and the stage's position. Staging names its date columns
    became_<name>_at; lead_stage_history numbers stages by `order`. The one list of
    stages: the accepted_values tests of stage columns read it too.
#}
{% macro hubspot_lifecycle_stages() -%}
    {{ return([
        {"hubspot_value": "subscriber",             "name": "subscriber",  "order": 1},
        {"hubspot_value": "lead",                   "name": "lead",        "order": 2},
        {"hubspot_value": "marketingqualifiedlead", "name": "mql",         "order": 3},
        {"hubspot_value": "salesqualifiedlead",     "name": "sql",         "order": 4},
        {"hubspot_value": "opportunity",            "name": "opportunity", "order": 5},
        {"hubspot_value": "customer",               "name": "customer",    "order": 6},
        {"hubspot_value": "evangelist",             "name": "evangelist",  "order": 7},
        {"hubspot_value": "other",                  "name": "other",       "order": 8},
    ]) }}
{%- endmacro %}
