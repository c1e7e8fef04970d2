/* picstore's upload widget: Uppy's dashboard on the direct-upload API (POST /v1/uploads, the file to the
 * url it answers with, then POST /v1/uploads/{id}/complete), the same for S3 and for picstore's own store.
 *
 * In any page:
 *   <script src="https://pictures.example.com/static/picstore-upload.js" defer></script>
 *   <div data-picstore-upload data-token="psu_..."></div>
 * The token comes from the host's backend (ImageStore.upload_token); never put an API key in a page.
 * Options (data- attributes): data-endpoint (picstore's URL; default: where this script came from, the
 *   part before /static/, so a picstore mounted at /pictures is found there),
 * data-token-url + data-csrf (fetch a token instead: what picstore's own dashboard does), data-note.
 * Each file's verdict is the answer of `complete` (a non-image named .jpg is refused there, not before);
 * it is shown by Uppy and in a list below it, and sent as a `picstore:uploaded` / `picstore:refused`
 * event on the element.
 */
(function () {
  'use strict'
  var script = document.currentScript
  var scriptUrl = new URL(script.src, document.baseURI)
  var staticBase = new URL('.', scriptUrl).href
  // picstore itself: the parent of /static/ (so under its mount prefix, such as /pictures), else the origin.
  var home = /\/static\/[^/]*$/.test(scriptUrl.pathname) ? new URL('..', staticBase).href : scriptUrl.origin

  function stylesheet (href) {
    var css = document.createElement('link')
    css.rel = 'stylesheet'
    css.href = href
    document.head.appendChild(css)
  }

  function loadUppy (done) {
    stylesheet(staticBase + 'picstore-upload.css')
    if (window.PicstoreUppy) return done()
    stylesheet(staticBase + 'vendor/uppy/uppy.min.css')
    var js = document.createElement('script')
    js.src = staticBase + 'vendor/uppy/uppy.min.js'
    js.onload = done
    document.head.appendChild(js)
  }

  function problemMessage (response, body) {
    if (body && body.detail) return body.detail + (body.code ? ' (' + body.code + ')' : '')
    return 'HTTP ' + response.status
  }

  async function jsonOrNull (response) {
    try { return await response.json() } catch (e) { return null }
  }

  function mount (el) {
    var P = window.PicstoreUppy
    var endpoint = (el.dataset.endpoint || home).replace(/\/+$/, '')
    var token = el.dataset.token || null
    var tokenUntil = token ? Infinity : 0
    var uploads = {} // Uppy file id -> picstore upload id

    async function uploadToken () {
      if (token && Date.now() < tokenUntil) return token
      var response = await fetch(el.dataset.tokenUrl, {
        method: 'POST',
        headers: { 'X-CSRF-Token': el.dataset.csrf || '', Accept: 'application/json' },
        credentials: 'same-origin'
      })
      var body = await jsonOrNull(response)
      if (!response.ok) throw new Error(problemMessage(response, body))
      token = body.token
      tokenUntil = Date.now() + (body.expires_in - 60) * 1000
      return token
    }

    async function api (path, payload) {
      var response = await fetch(endpoint + path, {
        method: 'POST',
        headers: {
          Authorization: 'Bearer ' + (await uploadToken()),
          'Content-Type': 'application/json',
          Accept: 'application/json'
        },
        body: JSON.stringify(payload)
      })
      var body = await jsonOrNull(response)
      if (!response.ok) throw new Error(problemMessage(response, body))
      return body
    }

    var results = document.createElement('ul')
    results.className = 'picstore-verdicts'
    results.setAttribute('aria-live', 'polite')

    function verdict (file, ok, text) {
      var li = document.createElement('li')
      li.className = ok ? 'ok' : 'refused'
      li.dataset.file = file.name
      var name = document.createElement('strong')
      name.textContent = file.name
      li.appendChild(name)
      li.appendChild(document.createTextNode(ok ? ' — stored' : ' — refused: ' + text))
      results.appendChild(li)
      el.dispatchEvent(new CustomEvent(ok ? 'picstore:uploaded' : 'picstore:refused', {
        bubbles: true, detail: { file: file.name, image: ok ? text : null, message: ok ? null : text }
      }))
    }

    var target = document.createElement('div')
    el.appendChild(target)
    el.appendChild(results)
    var uppy = new P.Uppy({ autoProceed: false, allowMultipleUploadBatches: true })
    uppy.use(P.Dashboard, {
      inline: true,
      target: target,
      width: '100%',
      height: 300,
      proudlyDisplayPoweredByUppy: false,
      showProgressDetails: true,
      note: el.dataset.note || 'JPEG, PNG, GIF, WebP, AVIF, HEIC or TIFF'
    })
    uppy.use(P.AwsS3, {
      shouldUseMultipart: false,
      limit: 3,
      generateObjectKey: function (file) { return file.id },
      // picstore answers the presigned POST (S3) or its own upload URL with the same {url, fields}.
      signRequest: async function (request) {
        var file = uppy.getFile(request.key)
        var ticket = await api('/v1/uploads', {
          filename: file.name,
          content_type: file.type || 'application/octet-stream',
          bytes: file.size
        })
        uploads[file.id] = ticket.upload_id
        // Uppy needs an absolute URL; picstore's own upload URL is a path when it is mounted without a
        // public URL (/pictures/v1/uploads/...), so resolve it against picstore's address.
        var base = new URL(endpoint + '/', document.baseURI)
        return { url: new URL(ticket.url, base).href, fields: ticket.fields }
      }
    })
    uppy.on('upload-error', function (file, error) {
      if (file && !uploads[file.id + ':done']) {
        uploads[file.id + ':done'] = true
        verdict(file, false, error.message)
      }
    })
    // After the bytes arrive, `complete` decides: its refusal is the file's error.
    uppy.addPostProcessor(async function (fileIDs) {
      await Promise.all(fileIDs.map(async function (id) {
        var file = uppy.getFile(id)
        if (!file || file.error || !uploads[id]) return
        uppy.emit('postprocess-progress', file, { mode: 'indeterminate', message: 'Checking the picture…' })
        try {
          var image = await api('/v1/uploads/' + uploads[id] + '/complete', {})
          uppy.emit('postprocess-complete', file)
          uploads[id + ':done'] = true
          verdict(file, true, image.id)
        } catch (error) {
          uppy.setFileState(id, { error: error.message })
          uppy.emit('postprocess-complete', file)
          uppy.emit('upload-error', uppy.getFile(id), error)
        }
      }))
    })
    el.picstoreUppy = uppy
  }

  function start () {
    var elements = document.querySelectorAll('[data-picstore-upload]')
    if (!elements.length) return
    loadUppy(function () { elements.forEach(mount) })
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start)
  else start()
})()
