'{' || array_to_string(list_transform(list_sort(map_keys(CAST(keys AS MAP(VARCHAR, JSON)))), lambda name: to_json(name) || ':' || CAST(CAST(keys AS MAP(VARCHAR, JSON))[name] AS VARCHAR)), ',') || '}'
