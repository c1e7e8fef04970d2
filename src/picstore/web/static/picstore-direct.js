/* picstore's direct upload for one file input of a form: the file goes to the bucket (or to picstore's
 * own upload URL on a file store), the form posts only the upload's id. No dependencies.
 *
 * Markup (what Django's DirectPictureInput renders):
 *   <div data-picstore-direct data-endpoint="/pictures" data-token="psu_...">
 *     <input type="file" ...>
 *     <input type="hidden" name="photo-upload" data-picstore-upload-id>
 *     <output class="picstore-direct-status" aria-live="polite"></output>
 *   </div>
 * When a file is picked: POST {endpoint}/v1/uploads (Bearer upload token), POST the answer's fields and
 * the file to its url, POST {endpoint}/v1/uploads/{id}/complete (picstore checks and cleans the picture).
 * On success the hidden input holds the upload id and the file input is emptied, so the form does not
 * send the file a second time; the server checks the id again. A refusal is shown with picstore's
 * message and code. Events on the element: picstore:uploaded (detail.upload, detail.image) and
 * picstore:refused (detail.message). A form submitted while an upload runs waits for it.
 */
(function () {
  'use strict'
  if (window.picstoreDirect) return // loaded twice (two widgets' media): once is enough
  window.picstoreDirect = true

  async function jsonOrNull (response) {
    try { return await response.json() } catch (e) { return null }
  }

  function problemMessage (response, body) {
    if (body && body.detail) return body.detail + (body.code ? ' (' + body.code + ')' : '')
    return 'HTTP ' + response.status
  }

  function setup (box) {
    var input = box.querySelector('input[type=file]')
    var hidden = box.querySelector('input[data-picstore-upload-id]')
    var status = box.querySelector('.picstore-direct-status')
    if (!input || !hidden || box.dataset.picstoreReady) return
    box.dataset.picstoreReady = '1'
    var endpoint = (box.dataset.endpoint || '').replace(/\/+$/, '')
    // Whether the field needs a picture (the server drops the attribute when the form comes back with one).
    var required = input.required || box.dataset.required === '1'
    var running = null

    function say (text, state) {
      status.textContent = text
      box.dataset.state = state
    }

    async function api (path, payload) {
      var response = await fetch(endpoint + path, {
        method: 'POST',
        headers: {
          Authorization: 'Bearer ' + box.dataset.token,
          'Content-Type': 'application/json',
          Accept: 'application/json'
        },
        body: JSON.stringify(payload)
      })
      var body = await jsonOrNull(response)
      if (!response.ok) throw new Error(problemMessage(response, body))
      return body
    }

    function preview (url) {
      var img = box.querySelector('img.picstore-thumb')
      if (!img) {
        img = document.createElement('img')
        img.className = 'picstore-thumb'
        img.alt = ''
        img.width = 100
        img.style.height = 'auto'
        box.insertBefore(img, box.firstChild)
      }
      img.src = url
    }

    async function upload (file) {
      hidden.value = ''
      input.required = required
      say('Uploading ' + file.name + '…', 'uploading')
      try {
        var ticket = await api('/v1/uploads', {
          filename: file.name,
          content_type: file.type || 'application/octet-stream',
          bytes: file.size
        })
        var form = new FormData()
        Object.keys(ticket.fields).forEach(function (name) { form.append(name, ticket.fields[name]) })
        form.append('file', file) // last: S3 and picstore read the fields before the file
        var sent = await fetch(ticket.url, { method: 'POST', body: form })
        if (!sent.ok) {
          var refusal = await jsonOrNull(sent)
          throw new Error(refusal ? problemMessage(sent, refusal) : 'the upload was refused (HTTP ' + sent.status + ')')
        }
        say('Checking ' + file.name + '…', 'checking')
        var image = await api('/v1/uploads/' + ticket.upload_id + '/complete', {})
        hidden.value = ticket.upload_id
        input.value = '' // sent already: the form posts the upload's id, not the file again
        input.required = false
        var thumb = image.variants && image.variants.thumb && image.variants.thumb.jpeg
        preview(thumb ? thumb.url : image.url)
        say(file.name + ' is uploaded; it is saved with the form.', 'uploaded')
        box.dispatchEvent(new CustomEvent('picstore:uploaded', {
          bubbles: true, detail: { file: file.name, upload: ticket.upload_id, image: image.id }
        }))
      } catch (error) {
        input.value = ''
        say(file.name + ' was refused: ' + error.message, 'refused')
        box.dispatchEvent(new CustomEvent('picstore:refused', {
          bubbles: true, detail: { file: file.name, message: error.message }
        }))
      }
    }

    input.addEventListener('change', function () {
      var file = input.files && input.files[0]
      if (!file) return
      running = upload(file).finally(function () { running = null })
    })

    if (input.form) {
      input.form.addEventListener('submit', function (event) {
        if (!running) return
        // The id is not there yet: send the form once the upload has finished (or failed).
        event.preventDefault()
        var form = input.form
        var submitter = event.submitter
        running.then(function () { form.requestSubmit(submitter) })
      })
    }
  }

  function setupAll () {
    document.querySelectorAll('[data-picstore-direct]').forEach(setup)
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', setupAll)
  else setupAll()
})()
