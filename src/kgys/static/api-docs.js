/* Interactive API reference: Swagger UI served from the installed package, reading our OpenAPI document. */
window.addEventListener("load", function () {
  window.SwaggerUIBundle({ url: "/api/v1/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
