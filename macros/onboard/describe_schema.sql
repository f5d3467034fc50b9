{#-
    The tables of `schema` in the target's database, each with its columns and their types, printed as one line
    `dmesh-describe-schema: <json>` for `dmesh-dbt onboard` (run as `dbt run-operation describe_schema`).

    Only the adapter's own listing and column lookup are used (list_relations_without_caching,
    get_columns_in_relation): BigQuery answers from its tables API, so this works where INFORMATION_SCHEMA does not
    (the emulator); other adapters query their catalog. `tables` (a list of names) narrows the answer; a missing
    schema answers no tables.
-#}
{% macro describe_schema(schema, tables=none) %}
    {%- set described = [] -%}
    {%- for relation in dmesh.schema_relations(schema) | sort(attribute='identifier') -%}
        {%- if tables is none or relation.identifier in tables -%}
            {%- set columns = [] -%}
            {%- for column in adapter.get_columns_in_relation(relation) -%}
                {#- dtype is the catalog's own name (character, not dbt's character varying(n)): what decides a cast -#}
                {%- do columns.append({'name': column.name, 'type': column.data_type, 'dtype': column.dtype}) -%}
            {%- endfor -%}
            {%- do described.append({'name': relation.identifier, 'relation': relation.render(), 'columns': columns}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- print('dmesh-describe-schema: ' ~ tojson({
        'adapter': adapter.type(),
        'database': target.database,
        'schema': schema,
        'tables': described,
    })) -}}
{% endmacro %}


{#- The tables and views of `schema` as relations. -#}
{% macro schema_relations(schema) %}
    {%- set schema_relation = api.Relation.create(database=target.database, schema=schema) -%}
    {{ return(adapter.dispatch('schema_relations', 'dmesh')(schema_relation)) }}
{% endmacro %}


{#- Most adapters list a schema as an agate table of (database, schema, name, type) rows. -#}
{% macro default__schema_relations(schema_relation) %}
    {%- set relations = [] -%}
    {%- for row in list_relations_without_caching(schema_relation) -%}
        {%- if row['type'] in ('table', 'view', 'materialized_view') -%}
            {%- do relations.append(api.Relation.create(
                database=row['database'], schema=row['schema'], identifier=row['name'], type=row['type'])) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{% endmacro %}


{#- dbt-bigquery lists a dataset through its API as relations already (a missing dataset lists none). -#}
{% macro bigquery__schema_relations(schema_relation) %}
    {%- set relations = [] -%}
    {%- for relation in list_relations_without_caching(schema_relation) -%}
        {%- if relation.type in ('table', 'view', 'materialized_view', 'external') -%}
            {%- do relations.append(relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(relations) }}
{% endmacro %}
