// The page's words come translated from the server (json_script configs, data
// attributes); this fills in their %(name)s placeholders.
export function fill(text, values) {
  return text.replace(/%\((\w+)\)[sd]/g, (_, key) => String(values[key]));
}
