package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Server-driven paging of Graph collections: a page holds $top items (or
// the collection's default), and @odata.nextLink, an absolute URL on the
// emulator's own host, carries the request's query with an opaque
// $skiptoken. Items are listed in the order of their keys (lower-case
// object ids), and the token holds the key of the last item given, so a
// client following the links gets every item once even if others are added
// meanwhile.

// pageSize is a collection's default and largest page.
type pageSize struct{ def, max int }

// directoryPageSize: directory collections page 100 objects by default and
// take $top up to 999 (Graph paging documentation; out of range: 400).
var directoryPageSize = pageSize{def: 100, max: 999}

// pageQuery is what a request asks of a collection: how many items, and
// after which key (empty: from the start).
type pageQuery struct {
	top   int
	after string
}

// readPageQuery reads $top and $skiptoken.
func readPageQuery(r *http.Request, size pageSize) (pageQuery, *graphError) {
	q := pageQuery{top: size.def}
	values := r.URL.Query()
	if top := values.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > size.max {
			// Graph's directory answer, verbatim in public client code.
			return q, &graphError{Status: http.StatusBadRequest, Code: "Request_UnsupportedQuery",
				Message: fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", top, size.max)}
		}
		q.top = n
	}
	if token := values.Get("$skiptoken"); token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return q, &graphError{Status: http.StatusBadRequest, Code: "Request_BadRequest",
				Message: "The specified page token value has expired or is invalid."}
		}
		q.after = string(after)
	}
	return q, nil
}

// startListing checks a collection request (GET, one of roles, paging
// parameters) and answers it if it fails; ok says whether to go on.
func (e *Emulator) startListing(w http.ResponseWriter, r *http.Request, who caller, size pageSize, roles ...string) (pageQuery, bool) {
	if !e.readAllowed(w, r, who, directoryAccessDenied(), roles...) {
		return pageQuery{}, false
	}
	q, gerr := readPageQuery(r, size)
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return pageQuery{}, false
	}
	return q, true
}

// collectionPage is one page of a collection, rendered.
type collectionPage struct {
	items []any
	last  string // the key of the last item
	more  bool   // whether items follow
}

// listPage takes the page q asks for from sorted keys: the first q.top
// keys after q.after that match (nil matches all), rendered.
func listPage(keys []string, q pageQuery, match func(string) bool, render func(string) any) collectionPage {
	start, found := slices.BinarySearch(keys, q.after)
	if found {
		start++
	}
	page := collectionPage{items: []any{}}
	for _, key := range keys[start:] {
		if match != nil && !match(key) {
			continue
		}
		if len(page.items) == q.top {
			page.more = true
			break
		}
		page.items = append(page.items, render(key))
		page.last = key
	}
	return page
}

// writeCollection answers with gerr, or with the page as a Graph
// collection whose @odata.context names metadata.
func (e *Emulator) writeCollection(w http.ResponseWriter, r *http.Request, metadata string, page collectionPage, gerr *graphError) {
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	body := struct {
		Context  string `json:"@odata.context"`
		NextLink string `json:"@odata.nextLink,omitempty"`
		Value    []any  `json:"value"`
	}{Context: origin(r) + "/v1.0/$metadata#" + metadata, Value: page.items}
	if page.more {
		body.NextLink = nextLink(r, page.last)
	}
	writeJSON(w, http.StatusOK, body)
}

// nextLink is the request's URL on the emulator's host with $skiptoken
// set to follow key; the other query parameters are kept as sent.
func nextLink(r *http.Request, key string) string {
	var kept []string
	for _, param := range strings.Split(r.URL.RawQuery, "&") {
		name, _, _ := strings.Cut(param, "=")
		if unescaped, err := url.QueryUnescape(name); param == "" || (err == nil && strings.EqualFold(unescaped, "$skiptoken")) {
			continue
		}
		kept = append(kept, param)
	}
	kept = append(kept, "$skiptoken="+base64.RawURLEncoding.EncodeToString([]byte(key)))
	return origin(r) + r.URL.EscapedPath() + "?" + strings.Join(kept, "&")
}
