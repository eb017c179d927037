import Hummingbird

// The studio's page: plain HTML and CSS, and a hand-written script (Script.swift) that is a
// client of the /api/ endpoints. One page serves the runs list (/) and a run (/runs/NAME).

extension Server {
    func addPages(to router: Router<BasicRequestContext>) {
        let page: @Sendable (Request, BasicRequestContext) -> Response = { _, _ in
            text(Page.html, type: "text/html; charset=utf-8")
        }
        router.get("/", use: page)
        router.get("/runs/**", use: page)
        router.get("/studio.css") { _, _ in text(Page.css, type: "text/css; charset=utf-8") }
        router.get("/studio.js") { _, _ in text(Page.script, type: "text/javascript; charset=utf-8") }
    }
}

func text(_ body: String, type: String) -> Response {
    Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
}

enum Page {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>deepgen studio</title>
        <link rel="stylesheet" href="/studio.css">
        </head>
        <body>
        <header><a href="/" id="home">deepgen studio</a> <span id="where"></span></header>
        <main id="main"><p class="note">Loading…</p></main>
        <script src="/studio.js"></script>
        </body>
        </html>
        """#

    static let css = #"""
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d1f21; background: #fafafa; }
        header { background: #1d1f21; color: #eee; padding: 10px 20px; }
        header a { color: #fff; font-weight: 600; text-decoration: none; }
        main { padding: 16px 20px; max-width: 1200px; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e3e3e3; vertical-align: middle; }
        th { font-weight: 600; background: #f0f0f0; }
        .panel { background: #fff; border: 1px solid #e0e0e0; border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
        .panel h2 { font-size: 16px; margin: 0 0 8px; }
        .row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0; }
        .pixels { image-rendering: pixelated; border: 1px solid #ccc; background: #888; }
        .note { color: #666; font-size: 13px; }
        .error { color: #b00020; }
        .live { color: #fff; background: #2e7d32; border-radius: 3px; padding: 0 5px; font-size: 12px; }
        input[type=number] { width: 7em; }
        .sliders { display: grid; grid-template-columns: 3em 1fr 4em; gap: 2px 8px; max-width: 520px; }
        canvas#sketch { border: 1px solid #999; touch-action: none; cursor: crosshair; background: #000; }
        .clusters { display: flex; flex-wrap: wrap; gap: 12px; }
        .clusters figure { margin: 0; }
        svg.curve { background: #fff; border: 1px solid #e3e3e3; }
        progress { width: 240px; }
        """#
}
