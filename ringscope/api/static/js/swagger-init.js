// Swagger UI over the app's own OpenAPI document (relative to <base>, so it works
// behind a proxy prefix). Served from the package: no code from a CDN.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
  });
});
