// Package convert imports redirects from nginx, Apache, Netlify and CSV
// into detour's native rules format, and exports a detour rule set as
// nginx, Apache or Caddy configuration (SPEC §6).
//
// # Findings
//
// An importer never drops what it cannot express silently: every such
// directive becomes a Finding naming the file and line, marked Lost. A
// note (Lost false) says where detour deliberately answers otherwise than
// the original server, such as a known pitfall (nginx appending the query
// a second time after $request_uri in a rewrite, "?$args" without
// $is_args leaving a bare "?", Apache's QSA escaping the query again).
// Every rule an importer writes is checked the way detour loads it; a rule
// detour would refuse (a redirect loop, a regex RE2 does not take) is left
// out with a finding, so an import always loads.
//
// # nginx
//
// server_name gives hosts (".example.com" is the apex and *.example.com);
// a server without one, "_" or default_server gives host-less rules. A
// host served by both a plain and an ssl listener gets scheme on its rules.
// nginx's processing is reproduced with priorities: the server's own
// rewrite/return/if directives first, in order (900000 down), then "="
// locations (600000), "^~" prefixes (300000 + 100 × length), regex
// locations in file order (200000), plain prefixes (100 × length, so the
// longest wins). A prefix "/a" is the string prefix "/a*"; "/a/" a regex,
// as detour's "/a/*" would also answer "/a". After converting a server,
// the importer runs nginx's location algorithm and detour's lookup side by
// side on sample paths and reports every path where they pick differently
// (a location that serves content where detour would redirect, above all).
//
// return 301|302|303|307|308 URL, return URL (302), return 410, and
// rewrite … redirect|permanent (or to an absolute URL) are converted;
// $scheme, $host, $request_uri, $uri, $args and $is_args become
// placeholders and query modes (return never passes the query on; rewrite
// appends it unless the replacement ends in "?"). if ($host …) is decided
// per server name, if ($scheme …) per listener, if ($request_method …)
// becomes the rule's methods. map $uri $v with
// if ($v) { return 30x $v; } becomes a bulk CSV table when nothing else in
// the server competes with its rows, exact rules otherwise. include
// follows globs, relative to the main file's folder as nginx does.
//
// # Apache
//
// mod_rewrite runs before mod_alias, so RewriteRules are written first,
// then Redirects, in file order (order: first-match), then the rules of
// <Directory> sections under the DocumentRoot. Redirect is a segment
// prefix carrying the rest of the path and the query; RedirectMatch a
// regex search; RewriteRule [R=…,L,NC,QSA,QSD,NE,G] with RewriteCond on
// %{HTTP_HOST} (a literal host), %{HTTPS} and %{REQUEST_METHOD}. An .htaccess file (a name
// ending in .htaccess) is read as the DocumentRoot's per-directory context.
//
// # Export
//
// Exporters write detour's precedence literally: nginx regex locations
// (tried in file order) per host, with detour's host tiers as fallbacks;
// one Apache virtual host of RewriteRules with host conditions; one Caddy
// route. Rules with windows, query conditions, trailing_slash: either or
// scheme https are left out and reported (and methods, for nginx).
//
// The package reads configuration files (an include pulls in others) but
// does no other I/O; it knows nothing of HTTP servers.
package convert
