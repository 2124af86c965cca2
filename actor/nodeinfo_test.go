package actor

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validate checks v against the subset of JSON Schema draft 4 that the
// NodeInfo schema uses: type, required, properties, additionalProperties
// (false), enum, pattern, minimum, minItems, items. It returns every
// violation found.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, args...)) }
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		bad("%v not in enum %v", v, enum)
	}
	switch schema["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want object, got %T", v)
			return errs
		}
		props, _ := schema["properties"].(map[string]any)
		required, _ := schema["required"].([]any)
		for _, r := range required {
			if _, ok := obj[r.(string)]; !ok {
				bad("missing required %q", r)
			}
		}
		for k, val := range obj {
			sub, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					bad("additional property %q", k)
				}
				continue
			}
			errs = append(errs, validate(sub, val, path+"."+k)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			bad("want array, got %T", v)
			return errs
		}
		if m, ok := schema["minItems"].(float64); ok && float64(len(arr)) < m {
			bad("%d items, want at least %v", len(arr), m)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range arr {
				errs = append(errs, validate(items, it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			bad("want string, got %T", v)
			return errs
		}
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
			bad("%q does not match %s", s, p)
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			bad("want integer, got %v", v)
			return errs
		}
		if m, ok := schema["minimum"].(float64); ok && n < m {
			bad("%v below minimum %v", n, m)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want boolean, got %T", v)
		}
	}
	return errs
}

// init21Schema loads the NodeInfo 2.1 schema from the fixtures.
func init21Schema(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(fixture("nodeinfo", "spec-schema-2.1.json"))
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	return schema
}

// schema20 derives the 2.0 schema from 2.1: version "2.0" and a software
// object without repository and homepage, the two fields 2.1 added.
func schema20(t *testing.T) map[string]any {
	s := init21Schema(t)
	props := s["properties"].(map[string]any)
	props["version"].(map[string]any)["enum"] = []any{"2.0"}
	sw := props["software"].(map[string]any)["properties"].(map[string]any)
	delete(sw, "repository")
	delete(sw, "homepage")
	return s
}

func TestSchemaValidatorCatchesViolations(t *testing.T) {
	schema := init21Schema(t)
	raw, err := os.ReadFile(fixture("nodeinfo", "spec-example-2.1.json"))
	require.NoError(t, err)
	var good map[string]any
	require.NoError(t, json.Unmarshal(raw, &good))
	assert.Empty(t, validate(schema, good, "$"), "the spec's own example is valid")

	for name, mutate := range map[string]func(map[string]any){
		"missing usage":  func(m map[string]any) { delete(m, "usage") },
		"extra property": func(m map[string]any) { m["extra"] = 1 },
		"bad name":       func(m map[string]any) { m["software"].(map[string]any)["name"] = "Not Valid" },
		"no protocols":   func(m map[string]any) { m["protocols"] = []any{} },
		"unknown proto":  func(m map[string]any) { m["protocols"] = []any{"smtp"} },
		"negative users": func(m map[string]any) { m["usage"].(map[string]any)["users"] = map[string]any{"total": -1.0} },
		"string openReg": func(m map[string]any) { m["openRegistrations"] = "yes" },
		"wrong version":  func(m map[string]any) { m["version"] = "2.0" },
		"null metadata":  func(m map[string]any) { m["metadata"] = nil },
	} {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(raw, &doc))
		mutate(doc)
		assert.NotEmpty(t, validate(schema, doc, "$"), name)
	}
}

func TestNodeInfo(t *testing.T) {
	s := newTestServer(t, func(o *Options) {
		o.Software = Software{Name: "My Server", Version: "1.2.3", Repository: "https://code.example/my-server"}
		o.OpenRegistrations = true
		o.Metadata = map[string]any{"nodeName": "Test node"}
	})
	s.create("alice")
	s.create("bob")
	s.getJSON("/actor") // the instance actor exists but is not a user

	resp, body := s.get("/.well-known/nodeinfo", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var disc nodeInfoDiscovery
	require.NoError(t, json.Unmarshal(body, &disc))
	require.Len(t, disc.Links, 2)

	schemas := map[string]map[string]any{NodeInfo20Schema: schema20(t), NodeInfo21Schema: init21Schema(t)}
	for _, l := range disc.Links {
		schema, ok := schemas[l.Rel]
		require.True(t, ok, l.Rel)
		resp, body := s.get(l.Href, "")
		require.Equal(t, http.StatusOK, resp.StatusCode, l.Href)
		assert.Equal(t, `application/json; profile="`+l.Rel+`#"`, resp.Header.Get("Content-Type"))
		var doc map[string]any
		require.NoError(t, json.Unmarshal(body, &doc))
		assert.Empty(t, validate(schema, doc, "$"), "%s: %s", l.Href, body)

		assert.Equal(t, 2.0, doc["usage"].(map[string]any)["users"].(map[string]any)["total"])
		assert.Equal(t, []any{"activitypub"}, doc["protocols"])
		assert.Equal(t, true, doc["openRegistrations"])
		assert.Equal(t, "my-server", doc["software"].(map[string]any)["name"])
		assert.Equal(t, "1.2.3", doc["software"].(map[string]any)["version"])
		assert.Equal(t, map[string]any{"nodeName": "Test node"}, doc["metadata"])
	}

	// Defaults.
	d := newTestServer(t, nil)
	doc := d.getJSON("/nodeinfo/2.1")
	assert.Equal(t, map[string]any{"name": "slothpub", "version": Version}, doc["software"])
	assert.Equal(t, map[string]any{}, doc["metadata"])
	assert.Equal(t, false, doc["openRegistrations"])
	assert.Equal(t, 0.0, doc["usage"].(map[string]any)["users"].(map[string]any)["total"])
}
