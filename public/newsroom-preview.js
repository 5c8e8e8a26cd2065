// The console's preview: the alert as readers see it on the alerts page (the page's own card), and the Web Push
// notification as a phone and a desktop show it, with the title and body the server will send.
import { renderAlert } from '/alert-card.js';
import { setDirection } from '/client/direction.js';
import { pushPayload } from '/push-payload.js';

const $ = (id) => document.getElementById(id);

function fillNotification(root, payload, language) {
  setDirection(root.querySelector('.n-text'), language);
  root.querySelector('.n-title').textContent = payload.title;
  root.querySelector('.n-body').textContent = payload.body;
  root.querySelector('.n-body').hidden = payload.body === '';
  for (const site of root.querySelectorAll('.n-site')) site.textContent = location.host;
  const img = root.querySelector('.n-image');
  img.hidden = !payload.image;
  if (payload.image) img.src = payload.image;
  else img.removeAttribute('src');
  root.className = `notification urgency-${payload.urgency}`;
}

/**
 * Shows `article` (the draft, or the server's own version of it from a dry run) as it will go out with an event of
 * `type`. The event id is only known once sent; one of the same form stands in (its length is what counts).
 */
export function showPreview(article, type, { topicName } = {}) {
  $('preview-card').replaceChildren(renderAlert(article, { topicName }));
  const payload = pushPayload(type, `${Date.now()}-0`, article);
  fillNotification($('preview-phone'), payload, article.language);
  fillNotification($('preview-desktop'), payload, article.language);
  $('quiet-note').textContent = article.urgency === 1
    ? 'Flash (urgency 1): reaches phones even during their readers\u2019 quiet hours.'
    : `Readers in their quiet hours get no notification for urgency ${article.urgency}: only flash alerts (urgency 1) come through.`;
  $('no-push-note').hidden = article.notify || type === 'article.retracted';
  return payload;
}
