{# stg_social__comments' post-hook on an incremental run: the rows stored before the keys existed
   (on_schema_change appended the columns, empty) get them, so a warehouse built by an older version
   needs no full refresh. A scan of one column for nulls when there is nothing to fill. #}
{% macro message_keys_filled(relation) -%}
    update {{ relation }} set
        message_sk = {{ message_key('platform', 'comment_id') }},
        parent_message_sk = {{ message_key('platform', 'parent_id') }},
        thread_sk = {{ message_key('platform', 'thread_id') }}
    where message_sk is null
{%- endmacro %}
