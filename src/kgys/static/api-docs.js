/* Interactive API reference: Swagger UI (npm's swagger-ui-dist, served by kgys itself) reading our OpenAPI
   document. No request leaves the server: the online spec validator is switched off. */
window.addEventListener("load", function () {
  window.ui = window.SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
