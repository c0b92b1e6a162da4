// Package follow follows HTTP redirects with exact semantics, on top of an
// existing *http.Client: its Transport, Timeout and cookie Jar.
//
// A 307 or 308 promises that the client repeats the request — same method,
// same body — at the new location. Go's own client only does so when the
// body can be rewound (and otherwise returns the 307 as final), keeps body
// headers after switching to GET, turns PUT and DELETE into GET on a 301 or
// 302, and has sent credentials back to an origin after a cross-origin hop
// (CVE-2024-45336). A Client fixes each:
//
//   - Only 301, 302, 303, 307 and 308 are followed; other 3xx, and a 3xx
//     with no Location, are final responses. Only http and https targets
//     are followed.
//   - 307 and 308 keep the method, the body and the body headers. 301 and
//     302 turn POST into GET (Client.Post301 and Post302 keep it, like
//     curl's --post301 and --post302); every other method keeps its method
//     and body, as WHATWG Fetch does. 303 turns everything but GET and
//     HEAD into GET (Client.Post303 keeps POST). When the method changes,
//     the body goes, and with it Content-Type, Content-Length,
//     Content-Encoding, Content-Language and Content-Location.
//   - A body that cannot be rewound (an io.Pipe, a network stream) is kept
//     as it is first sent — in memory, then in a temp file — so that a 307
//     or 308 sends the identical bytes again; one too large to keep is an
//     error (ErrBodyTooLarge), never an empty request or a silent GET.
//     Large bodies go with "Expect: 100-continue", so a redirecting server
//     need not receive the upload.
//   - Location is resolved against the request's URL per RFC 3986 (see
//     Resolve); a fragment is inherited when the Location has none.
//   - On a hop to another origin (scheme, host or port), the caller's
//     Authorization, Proxy-Authorization and Cookie headers are dropped,
//     for good (Client.KeepAuth names hosts that keep them). The Jar, if
//     any, still works hop by hop. HTTPS to HTTP is refused unless
//     Client.AllowDowngrade is set.
//   - At most 20 redirects are followed (Client.MaxRedirects). A request
//     that would repeat an earlier one of the chain with no Set-Cookie in
//     between is reported as a loop at once (ErrLoop).
//   - Retry-After on a redirect is reported, and honoured up to
//     Client.RetryAfterMax.
//
// Every hop is recorded (Hop): method, URL, status, Location, duration, what
// changed before the next hop, whether the body was sent again. Trace gives
// the record in the JSON shape of `detour trace --json`. Every error is an
// *Error, which carries the hops so far.
//
// How Follow relates to http.Client: it steps through the chain itself,
// hop by hop, sending each request with the http.Client's Transport and
// doing what http.Client.send does around it (Jar cookies in and out, basic
// auth from the URL's userinfo). It does not call http.Client.Do, whose
// redirect loop would parse (and refuse) a bad Location before any
// CheckRedirect could see it, and looks only at the first Location header.
package follow
