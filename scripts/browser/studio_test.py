"""The studio in headless Chromium, as a user would use it: the runs page, a run's page, the
sample button, the truncation slider, a stroke on the Pix2Pix canvas. Each check prints `ok` or
fails with a screenshot in the folder given.

usage: studio_test.py URL SCREENSHOT_DIR
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

URL, SHOTS = sys.argv[1].rstrip("/"), sys.argv[2]

options = webdriver.ChromeOptions()
for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"):
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30)
step = "start"


def check(name):
    global step
    step = name


def loads(element_id):
    """How many images the page has loaded into the <img> so far."""
    return int(driver.find_element(By.ID, element_id).get_attribute("data-loads") or 0)


def image_changes(element_id, before_src, before_loads):
    wait.until(lambda d: loads(element_id) > before_loads)
    after = driver.find_element(By.ID, element_id).get_attribute("src")
    assert after != before_src, f"{element_id} shows the same image"
    return after


def natural_size(element_id):
    return driver.execute_script(
        "const i = document.getElementById(arguments[0]); return [i.naturalWidth, i.naturalHeight];", element_id)


try:
    check("the runs page lists both runs")
    driver.get(URL + "/")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "a.run-link")) == 2)
    names = sorted(a.text for a in driver.find_elements(By.CSS_SELECTOR, "a.run-link"))
    assert names == ["pix2pix", "stylegan"], names
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-run=stylegan] polyline"))
    print("ok   runs page: runs " + ", ".join(names) + "; the stylegan row draws its loss curve")

    check("a run's page opens from its link")
    driver.find_element(By.LINK_TEXT, "stylegan").click()
    wait.until(lambda d: d.find_elements(By.ID, "sample-image") and loads("sample-image") >= 1)
    assert "stylegan on shapes" in driver.find_element(By.ID, "summary").text
    panels = [p.get_attribute("id") for p in driver.find_elements(By.CSS_SELECTOR, "section.panel")]
    for expected in ("sample-panel", "latent-panel", "mix-panel", "project-panel"):
        assert expected in panels, panels
    assert "translate-panel" not in panels and "draw-panel" not in panels, panels
    print("ok   run page: panels " + ", ".join(panels))

    check("sample with a new seed changes the grid")
    before = driver.find_element(By.ID, "sample-image").get_attribute("src")
    count = loads("sample-image")
    driver.find_element(By.ID, "new-seed").click()
    image_changes("sample-image", before, count)
    width, height = natural_size("sample-image")
    assert width > 0 and height > 0
    print(f"ok   new seed: the grid changed ({width}x{height} px, seed {driver.find_element(By.ID, 'seed').get_attribute('value')})")

    check("the sample button draws the seed asked for")
    seed = driver.find_element(By.ID, "seed")
    seed.clear()
    seed.send_keys("7")
    before, count = driver.find_element(By.ID, "sample-image").get_attribute("src"), loads("sample-image")
    driver.find_element(By.ID, "sample-button").click()
    image_changes("sample-image", before, count)
    print("ok   sample: seed 7 drew a new grid")

    check("the truncation slider redraws the grid")
    slider = driver.find_element(By.ID, "truncation")
    before, count = driver.find_element(By.ID, "sample-image").get_attribute("src"), loads("sample-image")
    slider.click()
    for _ in range(10):
        slider.send_keys(Keys.ARROW_LEFT)
    # Keys change the value; the grid is redrawn when the slider is released (change).
    driver.execute_script("arguments[0].dispatchEvent(new Event('change'))", slider)
    image_changes("sample-image", before, count)
    value = driver.find_element(By.ID, "truncation-value").text
    assert float(value) < 1, value
    print(f"ok   truncation: psi {value} redrew the grid")

    check("a latent slider redraws the decoded image")
    wait.until(lambda d: loads("decoded-image") >= 1)
    before, count = driver.find_element(By.ID, "decoded-image").get_attribute("src"), loads("decoded-image")
    z0 = driver.find_element(By.ID, "z0")
    driver.execute_script("arguments[0].value = arguments[0].min; arguments[0].dispatchEvent(new Event('input'))", z0)
    image_changes("decoded-image", before, count)
    print("ok   latent: moving z0 redrew the decoded image")

    check("style mixing draws content | style | mixed")
    wait.until(lambda d: loads("mix-image") >= 1)
    width, height = natural_size("mix-image")
    assert width > 2 * height, (width, height)
    print(f"ok   mixing: a {width}x{height} strip of three")

    check("the pix2pix page translates a stroke drawn on its canvas")
    driver.get(URL + "/runs/pix2pix")
    canvas = wait.until(lambda d: d.find_element(By.ID, "sketch"))
    assert loads("translation-image") == 0
    ActionChains(driver).move_to_element_with_offset(canvas, -60, -80).click_and_hold() \
        .move_by_offset(40, 60).move_by_offset(40, 60).move_by_offset(20, 40).release().perform()
    wait.until(lambda d: loads("translation-image") >= 1)
    width, height = natural_size("translation-image")
    assert (width, height) == (2 * 16 + 3 * 2, 16 + 2 * 2), (width, height)
    painted = driver.execute_script(
        "const c = document.getElementById('sketch'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] > 128) n++; return n;")
    assert painted > 100, painted
    print(f"ok   pix2pix: a stroke of {painted} px came back translated ({width}x{height}: input | output)")

    check("an unknown run says so")
    driver.get(URL + "/runs/nothing")
    error = wait.until(lambda d: d.find_element(By.ID, "page-error"))
    assert "no run called nothing" in error.text, error.text
    print("ok   unknown run: " + error.text)
except Exception as failure:
    shot = os.path.join(SHOTS, step.replace(" ", "-").replace("|", "") + ".png")
    driver.save_screenshot(shot)
    print(f"FAIL {step}: {type(failure).__name__}: {failure}\n     screenshot: {shot}", file=sys.stderr)
    driver.quit()
    sys.exit(1)
driver.save_screenshot(os.path.join(SHOTS, "last-page.png"))
driver.quit()
print("browser: all checks passed")
