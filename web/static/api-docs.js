// Swagger UI over Sanchika's own OpenAPI document; everything is served by Sanchika
// (no validator badge, which would call an outside service).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false
  });
})();
