package sources

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrTooLarge is returned (wrapped) when a response body, after decompression, exceeds the fetcher's cap.
var ErrTooLarge = errors.New("response body too large")

// HTTPError is a non-2xx, non-304 answer.
type HTTPError struct {
	URL        string
	StatusCode int
	// RetryAfter is the server's Retry-After (429/503), zero when absent.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("GET %s: HTTP %d (retry after %s)", e.URL, e.StatusCode, e.RetryAfter)
	}
	return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.StatusCode)
}

// Response is a fetched (or not modified) document.
type Response struct {
	URL        string
	StatusCode int
	// Body is the decompressed body; nil when NotModified.
	Body        []byte
	NotModified bool
	// Validators are the ETag/Last-Modified to send next time (the previous ones are kept on 304).
	Validators Validators
	// MaxAge is the Cache-Control max-age, zero when absent.
	MaxAge time.Duration
	Header http.Header
}

// Fetcher is the one HTTP client all sources share. TODO(helper A): implementation.
type Fetcher struct{}

// Get fetches url with conditional headers from prev.
func (f *Fetcher) Get(ctx context.Context, url string, prev Validators) (*Response, error) {
	return nil, errors.New("not implemented")
}
