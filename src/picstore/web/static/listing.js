/* The listing's lightbox: a picture's link opens it large in a <dialog> (Escape or the button closes it,
 * ←/→ go to the neighbours, focus returns to the picture). Without JavaScript the link opens the
 * picture's own page. */
(function () {
  'use strict'
  var links = Array.prototype.slice.call(document.querySelectorAll('[data-lightbox]'))
  var dialog = document.getElementById('lightbox')
  if (!links.length || !dialog || typeof dialog.showModal !== 'function') return
  var img = dialog.querySelector('img')
  var caption = dialog.querySelector('figcaption')
  var current = -1

  function show (index) {
    current = (index + links.length) % links.length
    var link = links[current]
    img.src = link.dataset.large
    img.alt = link.dataset.alt || ''
    img.width = Number(link.dataset.width)
    img.height = Number(link.dataset.height)
    caption.textContent = link.dataset.caption || ''
    caption.hidden = !link.dataset.caption
    if (!dialog.open) dialog.showModal()
  }

  links.forEach(function (link, index) {
    link.addEventListener('click', function (event) {
      if (event.metaKey || event.ctrlKey || event.shiftKey) return
      event.preventDefault()
      show(index)
    })
  })
  dialog.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowRight') { event.preventDefault(); show(current + 1) }
    if (event.key === 'ArrowLeft') { event.preventDefault(); show(current - 1) }
  })
  dialog.querySelector('[data-next]').addEventListener('click', function () { show(current + 1) })
  dialog.querySelector('[data-prev]').addEventListener('click', function () { show(current - 1) })
  dialog.querySelector('[data-close]').addEventListener('click', function () { dialog.close() })
  dialog.addEventListener('click', function (event) { if (event.target === dialog) dialog.close() })
  dialog.addEventListener('close', function () {
    img.removeAttribute('src')
    if (links[current]) links[current].focus()
  })
})()
