import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in news site on its own origin: serves the pages the test gives it (path -> content type and body,
 * built on each request, so a page can name a server started later).
 */
export class NewsSite {
  readonly url: string;
  private constructor(private readonly server: Server, port: number) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(pages: Record<string, () => { type: string; body: string; headers?: Record<string, string> }>): Promise<NewsSite> {
    const server = createServer((req, res) => {
      const page = pages[new URL(req.url ?? '/', 'http://site').pathname];
      if (!page) {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      const { type, body, headers } = page();
      res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store', ...headers }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new NewsSite(server, (server.address() as AddressInfo).port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface NewsPageOptions {
  /** Where banner.js comes from (the push server, or a proxy in front of it). */
  server: string;
  lang?: 'en' | 'ar';
  /** data-topics of the banner; absent: no banner. */
  topics?: string;
  /** More markup at the end of the body (test controls). */
  extra?: string;
}

const COPY = {
  en: {
    title: 'The Daily Courier', nav: ['World', 'Business', 'Sport', 'Culture', 'Opinion'],
    lead: 'Harbour towns count the cost as storm season starts early',
    leadText: 'Fishing fleets stayed in port for a third day while engineers inspected the sea walls built after the floods of 1953.',
    more: ['Rail strike called off after overnight talks', 'Museum returns bronze figures to Benin City', 'Local elections: what the results mean'],
  },
  ar: {
    title: 'البريد اليومي', nav: ['العالم', 'اقتصاد', 'رياضة', 'ثقافة', 'رأي'],
    lead: 'مدن الموانئ تحصي خسائرها مع بدء موسم العواصف مبكرًا',
    leadText: 'بقيت أساطيل الصيد في الميناء لليوم الثالث بينما فحص المهندسون الجدران البحرية.',
    more: ['إلغاء إضراب السكك الحديدية بعد محادثات ليلية', 'متحف يعيد تماثيل برونزية إلى بنين', 'الانتخابات المحلية: ماذا تعني النتائج'],
  },
};

/** A stand-in news front page, with the site's own styles (generic enough that leaking either way would show). */
export function newsPage({ server, lang = 'en', topics, extra = '' }: NewsPageOptions): { type: string; body: string } {
  const c = COPY[lang];
  const banner = topics === undefined ? '' : `<script type="module" src="${server}/client/banner.js" data-topics="${topics}"></script>`;
  return {
    type: 'text/html',
    body: `<!doctype html>
<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${c.title}</title>
<style>
  body { margin: 0; font-family: Georgia, serif; color: #222; background: #fdfcf9; }
  header { padding: 3.5rem 1.5rem 0.5rem; border-bottom: 4px double #222; text-align: center; }
  header h1 { margin: 0; font-size: 2.6rem; letter-spacing: -0.02em; }
  nav { display: flex; gap: 1.2rem; justify-content: center; padding: 0.6rem; border-bottom: 1px solid #ccc; font-family: system-ui, sans-serif; font-size: 0.95rem; }
  a { color: rgb(204, 0, 0); }
  button { background: rgb(0, 128, 0); color: yellow; font-size: 30px; }
  .strip { color: rgb(0, 128, 0); font-size: 11px; }
  main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; display: grid; grid-template-columns: 2fr 1fr; gap: 2rem; }
  @media (max-width: 40rem) { main { grid-template-columns: 1fr; } header h1 { font-size: 1.9rem; } }
  .lead h2 { font-size: 2rem; margin: 0 0 0.5rem; line-height: 1.15; }
  .photo { aspect-ratio: 16 / 9; background: linear-gradient(160deg, #5b7c99, #c9d6df); border-radius: 2px; }
  aside h3 { font-size: 1.1rem; border-top: 1px solid #ccc; padding-top: 0.6rem; }
</style>
${banner}
</head>
<body>
<header><h1>${c.title}</h1></header>
<nav>${c.nav.map((n) => `<a href="#">${n}</a>`).join('')}</nav>
<main>
  <article class="lead"><div class="photo"></div><h2>${c.lead}</h2><p>${c.leadText}</p><p class="strip" id="site-strip">${c.more[2]}</p></article>
  <aside>${c.more.map((m) => `<h3>${m}</h3>`).join('')}</aside>
</main>
${extra}
</body></html>`,
  };
}
