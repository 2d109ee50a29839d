#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium over the DevTools protocol (Debian's chromium and
python3-websocket): opens /ui/, types the API key, creates an instance with the form, and waits
until its row shows STARTED, without the page reloading and with the change delivered by the
event stream. Saves a screenshot. Exits 0 on success, 1 with a reason otherwise.

usage: dashboard_cdp.py URL API_KEY SCREENSHOT.png
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


class Page:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait(self, expression, what, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.eval(expression):
                return
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what}")

    def type_into(self, selector, text):
        self.eval(f"document.querySelector({json.dumps(selector)}).focus()")
        self.call("Input.insertText", text=text)

    def click(self, selector):
        self.eval(f"document.querySelector({json.dumps(selector)}).click()")


def main():
    url, key, shot = sys.argv[1], sys.argv[2], sys.argv[3]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("chromium is not installed", file=sys.stderr)
        return 1
    profile = tempfile.mkdtemp(prefix="lambda-chromium-")
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--remote-debugging-port=0", "--remote-allow-origins=*",
         f"--user-data-dir={profile}", "--window-size=1280,900", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.time() + 30
        while port is None and time.time() < deadline:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            print("chromium did not start its DevTools endpoint", file=sys.stderr)
            return 1
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page_ws = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        page = Page(page_ws)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.navigate", url=url + "/ui/")
        page.wait("document.readyState === 'complete' && !!document.querySelector('#key')",
                  "the key form")
        # A marker that a reload would wipe out.
        page.eval("window.__loadedOnce = 'yes'")
        page.type_into("#key", key)
        page.click("#login")
        page.wait("!document.querySelector('#app').hidden", "the instance list")
        page.wait("document.querySelector('#live').textContent === 'live'", "the event stream")
        if key in page.eval("location.href"):
            raise RuntimeError("the key is in the URL")
        if page.eval(f"sessionStorage.getItem('lambda.apiKey') === {json.dumps(key)}") is not True:
            raise RuntimeError("the key is not kept in sessionStorage")
        page.type_into("#create-name", "ui-demo")
        page.click("#create")
        row = "[...document.querySelectorAll('#instances tbody tr')].find(" \
              "r => r.querySelector('.name').textContent === 'ui-demo')"
        page.wait(f"!!({row})", "the new instance's row")
        seen = set()
        deadline = time.time() + 60
        while time.time() < deadline:
            status = page.eval(f"({row}).querySelector('.status').textContent")
            seen.add(status)
            if status == "STARTED":
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"the row never showed STARTED (saw {sorted(seen)})")
        # Instances made elsewhere (here, straight over HTTP, five at once) appear and reach
        # STARTED too: their first events come before the page has ever listed them.
        body = json.dumps({"instance_name": "outside", "master_name": "m", "slaves": 1,
                           "vcpus_master": 1, "vcpus_slave": 1, "ram_master": 1024,
                           "ram_slave": 1024, "disk_master": 10, "disk_slave": 10,
                           "ip_allocation": "master", "network_request": 1,
                           "project_name": "p"}).encode()
        for _ in range(5):
            req = urllib.request.Request(url + "/api/lambda-instances/", data=body, method="POST",
                                         headers={"X-API-Key": key,
                                                  "Content-Type": "application/json"})
            urllib.request.urlopen(req).read()
        page.wait("[...document.querySelectorAll('#instances tbody tr')].filter("
                  "r => r.querySelector('.name').textContent === 'outside' && "
                  "r.querySelector('.status').textContent === 'STARTED').length === 5",
                  "the five instances made elsewhere at STARTED", timeout=60)
        if page.eval("window.__loadedOnce") != "yes":
            raise RuntimeError("the page reloaded")
        events = int(page.eval("document.body.dataset.events || '0'"))
        if events < 1:
            raise RuntimeError("no status change came over the event stream")
        width = page.eval(f"({row}).querySelector('.bar > div').style.width")
        if width != "100%":
            raise RuntimeError(f"the progress bar is at {width}, not 100%")
        page.eval(f"({row}).querySelector(\"button[data-action='history']\").click()")
        page.wait("document.querySelector('#history-name').textContent === 'ui-demo' && "
                  "[...document.querySelectorAll('#history li')].some("
                  "li => li.textContent.includes('STARTED'))", "the history")
        time.sleep(0.3)  # let the last paint settle before the picture
        png = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
        os.makedirs(os.path.dirname(os.path.abspath(shot)), exist_ok=True)
        with open(shot, "wb") as f:
            f.write(png)
        print(f"dashboard: STARTED shown live after {events} stream events "
              f"(statuses seen while polling the page: {sorted(seen)}); screenshot {shot} "
              f"({len(png)} bytes)")
        return 0
    except Exception as e:  # noqa: BLE001 - report any failure as the test's reason
        print(f"dashboard test failed: {e}", file=sys.stderr)
        return 1
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
