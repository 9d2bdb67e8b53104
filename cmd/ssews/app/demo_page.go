package app

import (
	"embed"
	"io/fs"
	"net/http"
)

// demoFiles is the demo page: plain HTML, CSS and JavaScript, embedded so that
// `ssews demo` works offline from a single binary.
//
//go:embed demo/index.html demo/style.css demo/app.js
var demoFiles embed.FS

// demoPage serves the demo page at / and its two assets; every other path is 404.
// It is Main's Fallback, so the page has the routes' origin and needs no CORS.
func demoPage() http.Handler {
	root, err := fs.Sub(demoFiles, "demo")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	files := http.FileServerFS(root)
	mux := http.NewServeMux()
	for _, p := range []string{"/{$}", "/style.css", "/app.js"} {
		mux.Handle("GET "+p, files)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		// Everything the page loads or connects to is its own origin ('self' covers
		// ws: and wss: to the same host).
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		mux.ServeHTTP(w, r)
	})
}
