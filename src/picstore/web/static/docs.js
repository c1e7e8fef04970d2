/* Start Swagger UI (vendored) on picstore's own OpenAPI document (under the mount prefix that <body>'s
 * data-root names); no validator or other host is contacted. */
window.addEventListener('DOMContentLoaded', function () {
  window.ui = window.SwaggerUIBundle({
    url: (document.body.dataset.root || '') + '/openapi.json',
    dom_id: '#swagger-ui',
    validatorUrl: null,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout'
  })
})
