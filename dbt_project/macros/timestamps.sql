{#
    ISO-8601 text with an offset or Z (e.g. '2026-06-01T10:15:00.000Z') -> TIMESTAMP
    holding the UTC wall-clock time. A plain cast to TIMESTAMP would drop a non-zero
    offset instead of applying it, so go through TIMESTAMPTZ.
#}
{% macro iso_to_utc_timestamp(text_expression) -%}
    (cast({{ text_expression }} as timestamptz) at time zone 'UTC')
{%- endmacro %}


{#
    A UTC wall-clock TIMESTAMP -> the wall-clock TIMESTAMP in an IANA time zone (a
    literal or a column), e.g. to put an event on the day an ad account reports it.
#}
{% macro utc_to_local_timestamp(utc_timestamp, time_zone) -%}
    (({{ utc_timestamp }} at time zone 'UTC') at time zone {{ time_zone }})
{%- endmacro %}
