/* The dashboard's enhancements; every action also works as a plain form without JavaScript.
 * - drag a picture onto another to place it before that one (the keyboard uses the ↑/↓ buttons);
 * - copy a picture's <picture> snippet;
 * - confirm before deleting;
 * - reload the grid once uploads are stored.
 */
(function () {
  'use strict'
  var grid = document.querySelector('[data-grid]')
  var csrf = document.querySelector('meta[name="csrf-token"]').content
  // Where picstore is mounted ('' at the root of its origin, '/pictures' inside another application).
  var root = document.body.dataset.root || ''

  function post (url, fields) {
    var body = new URLSearchParams(fields)
    return fetch(url, {
      method: 'POST',
      body: body,
      headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' },
      credentials: 'same-origin'
    }).then(function (response) {
      if (response.ok) return response.json()
      return response.json().then(function (problem) { throw new Error(problem.detail || response.statusText) })
    })
  }

  function announce (text) {
    var live = document.getElementById('status')
    if (live) live.textContent = text
  }

  if (grid) {
    var dragged = null
    grid.addEventListener('dragstart', function (event) {
      dragged = event.target.closest('[data-picture]')
      if (!dragged) return
      dragged.classList.add('dragging')
      event.dataTransfer.effectAllowed = 'move'
      event.dataTransfer.setData('text/plain', dragged.dataset.picture)
    })
    grid.addEventListener('dragend', function () {
      if (dragged) dragged.classList.remove('dragging')
      dragged = null
    })
    grid.addEventListener('dragover', function (event) {
      if (dragged && event.target.closest('[data-picture]')) event.preventDefault()
    })
    grid.addEventListener('drop', function (event) {
      var target = event.target.closest('[data-picture]')
      if (!dragged || !target || target === dragged) return
      event.preventDefault()
      var moving = dragged
      // Dragged forwards it takes the place after the card dropped on, backwards the place before it.
      var forwards = moving.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING
      var fields = forwards ? { after: target.dataset.picture } : { before: target.dataset.picture }
      post(root + '/dashboard/pictures/' + moving.dataset.picture + '/move', fields)
        .then(function () {
          grid.insertBefore(moving, forwards ? target.nextElementSibling : target)
          announce('Moved. The listing shows the pictures in this order.')
        })
        .catch(function (error) { announce('Not moved: ' + error.message) })
    })
  }

  document.addEventListener('click', function (event) {
    var copy = event.target.closest('[data-copy]')
    if (copy) {
      var source = document.getElementById(copy.dataset.copy)
      source.select()
      var done = function () { copy.textContent = 'Copied' ; setTimeout(function () { copy.textContent = 'Copy' }, 1500) }
      if (navigator.clipboard) navigator.clipboard.writeText(source.value).then(done, function () { document.execCommand('copy'); done() })
      else { document.execCommand('copy'); done() }
    }
  })

  document.addEventListener('submit', function (event) {
    var form = event.target
    if (form.matches('[data-confirm]') && !window.confirm(form.dataset.confirm)) event.preventDefault()
  })

  // New pictures appear in the grid once every file of a batch has its verdict.
  var uploader = document.querySelector('[data-picstore-upload]')
  if (uploader) {
    var stored = 0
    uploader.addEventListener('picstore:uploaded', function () { stored += 1 })
    uploader.addEventListener('picstore:uploaded', schedule)
    uploader.addEventListener('picstore:refused', schedule)
    var timer = null
    function schedule () {
      clearTimeout(timer)
      timer = setTimeout(function () {
        var uppy = uploader.picstoreUppy
        var busy = uppy && uppy.getFiles().some(function (f) { return !f.error && !(f.progress && f.progress.complete) })
        if (!busy && stored) document.getElementById('refresh').hidden = false
      }, 300)
    }
  }
})()
