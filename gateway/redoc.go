package gateway

import "github.com/gofiber/fiber/v2"

// redocScript is the ReDoc bundle /redoc loads, pinned to one version so
// that the page's policy can name exactly that file.
const redocScript = "https://cdn.jsdelivr.net/npm/redoc@2.1.5/bundles/redoc.standalone.js"

// redocCSP is /redoc's own policy, looser than apiCSP only where ReDoc
// needs it: its script from jsDelivr, inline styles (it renders with
// styled-components), a worker made from a blob (its search index), data:
// images (its icons) and the schema from this origin.
const redocCSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"script-src " + redocScript + "; style-src 'unsafe-inline'; img-src 'self' data:; " +
	"worker-src blob:; connect-src 'self'"

// redocPage renders /openapi.json with ReDoc.
const redocPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>YMERA API Reference</title>
  </head>
  <body>
    <redoc spec-url="/openapi.json"></redoc>
    <script src="` + redocScript + `" crossorigin></script>
  </body>
</html>
`

// redocRoute serves GET /redoc, the seed's second documentation page. It
// is a page, not an API operation, so it is not in the OpenAPI document,
// like huma's /docs.
func (s *Server) redocRoute() {
	s.app.Get("/redoc", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentSecurityPolicy, redocCSP)
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString(redocPage)
	})
}
