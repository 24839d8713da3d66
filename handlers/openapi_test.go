package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The document is OpenAPI 3.1, as the specification's own schema checks
// it, and it lists exactly the /api/ routes the router serves.
func TestOpenAPIDocument(t *testing.T) {
	c := jsonschema.NewCompiler()
	oas, err := os.ReadFile("testdata/openapi-3.1/schema.json")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := jsonschema.UnmarshalJSON(bytes.NewReader(oas))
	if err != nil {
		t.Fatal(err)
	}
	const oasID = "https://spec.openapis.org/oas/3.1/schema/2021-04-15"
	if err := c.AddResource(oasID, meta); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(oasID)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("openapi.json is not a valid OpenAPI 3.1 document: %v", err)
	}

	ts := newTestServer(t)
	var served []string
	for _, r := range ts.echo.Routes() {
		if strings.HasPrefix(r.Path, "/api/") && r.Method != http.MethodHead {
			served = append(served, r.Method+" "+r.Path)
		}
	}
	var documented []string
	for path, ops := range apiContract(t).doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if !slices.Equal(served, documented) {
		t.Errorf("routes served %q, documented %q", served, documented)
	}

	res := ts.client(t).get("/api/openapi.json")
	assertStatus(t, res, http.StatusOK)
	if res.body != string(openAPIDocument) {
		t.Error("GET /api/openapi.json does not serve the document")
	}
}

// contract is the document, parsed, with its answers' schemas compiled as
// the tests ask for them.
type contract struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	schemas  map[string]*jsonschema.Schema
}

const docURL = "https://keydesk.invalid/api/openapi.json"

var (
	contractOnce sync.Once
	contractDoc  *contract
	contractErr  error
)

func apiContract(t testing.TB) *contract {
	t.Helper()
	contractOnce.Do(func() {
		var doc map[string]any
		if contractErr = json.Unmarshal(openAPIDocument, &doc); contractErr != nil {
			return
		}
		parsed, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPIDocument))
		if err != nil {
			contractErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if contractErr = c.AddResource(docURL, parsed); contractErr != nil {
			return
		}
		contractDoc = &contract{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}
	})
	if contractErr != nil {
		t.Fatalf("openapi.json: %v", contractErr)
	}
	return contractDoc
}

// pointer escapes one JSON Pointer token.
func pointer(token string) string {
	return strings.ReplaceAll(strings.ReplaceAll(token, "~", "~0"), "/", "~1")
}

// lookup follows a JSON Pointer ("#/a/b") in the document.
func (c *contract) lookup(ptr string) (any, bool) {
	var node any = c.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}
		if node, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return node, true
}

// check holds an answer to the document: its status is one the route
// documents, and its JSON body (and the headers the document requires)
// match that answer's schema. A path the document does not know may only
// be a 404 or 405.
func (c *contract) check(method, path string, status int, header http.Header, body []byte) error {
	op := "#/paths/" + pointer(path) + "/" + strings.ToLower(method)
	if _, ok := c.lookup(op); !ok {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d but is not in openapi.json", method, path, status)
	}
	respPtr := op + "/responses/" + strconv.Itoa(status)
	resp, ok := c.lookup(respPtr)
	if !ok {
		return fmt.Errorf("%s %s answered %d, which openapi.json does not list", method, path, status)
	}
	if ref, isRef := resp.(map[string]any)["$ref"].(string); isRef {
		respPtr = ref
		resp, _ = c.lookup(ref)
	}
	headers, _ := resp.(map[string]any)["headers"].(map[string]any)
	for name, h := range headers {
		if req, _ := h.(map[string]any)["required"].(bool); req && header.Get(name) == "" {
			return fmt.Errorf("%s %s %d lacks the header %s", method, path, status, name)
		}
	}
	if _, ok := c.lookup(respPtr + "/content/application~1json/schema"); !ok {
		return nil
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("%s %s %d: Content-Type %q, want application/json", method, path, status, ct)
	}
	sch, err := c.schema(respPtr + "/content/application~1json/schema")
	if err != nil {
		return err
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, path, status, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s %s %d: body %s does not match openapi.json: %v", method, path, status, body, err)
	}
	return nil
}

func (c *contract) schema(ptr string) (*jsonschema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.schemas[ptr]; ok {
		return s, nil
	}
	s, err := c.compiler.Compile(docURL + ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi.json %s: %v", ptr, err)
	}
	c.schemas[ptr] = s
	return s, nil
}
