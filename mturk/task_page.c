/*
 * mturk/task_page.c - the worker task page, an HTMLQuestion (spec sections
 * 5 and 7).
 *
 * One self-contained page: inline CSS and JavaScript, no third-party
 * script, font or CDN (MTurk runs it in a sandboxed iframe, and lab mode
 * must work offline).  It shows the stage image, lets the worker draw boxes
 * by dragging (pointer events: mouse, pen and touch alike), select, move,
 * resize and remove them, "Add box" and "Remove box", asks "Did you find a
 * face?", takes feedback, and posts to turkSubmitTo + /mturk/externalSubmit
 * the fields boxes (JSON [[x,y,w,h],...]), face_found (yes|no), feedback and
 * assignmentId.  Boxes live in full-image pixel coordinates; the display
 * scale only applies when they are drawn, so a phone and a desktop give the
 * same numbers.  In preview (assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE) the
 * image shows but Submit is disabled with "Accept the HIT to start".
 *
 * Values from outside (the image URL) are HTML-escaped into attributes and
 * never pasted into script; the script reads them from data- attributes.
 * Since the HTML sits in a CDATA section, escaping '>' also rules out a
 * "]]>" that would end it.  The whole Question is checked against MTurk's
 * 65,535-byte limit before anyone sends it.
 */
#include "mturk/mturk.h"

#include <string.h>

#define HTMLQUESTION_NS                                                       \
	"http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"   \
	"2011-11-11/HTMLQuestion.xsd"

static const char page_head[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, "
	"initial-scale=1\">\n<title>Box anything that could identify a "
	"person</title>\n<style>\n"
	"body{font:16px/1.4 system-ui,sans-serif;margin:0;padding:12px;"
	"color:#222;background:#fafafa}\n"
	"h1{font-size:1.2em;margin:0 0 .4em}\n"
	".inst{max-width:60em}\n"
	"#wrap{position:relative;display:inline-block;max-width:100%;"
	"touch-action:none;user-select:none;-webkit-user-select:none;"
	"cursor:crosshair;border:1px solid #888;line-height:0}\n"
	"#img{max-width:100%;height:auto;display:block;pointer-events:none}\n"
	".box{position:absolute;border:2px solid #e00;background:"
	"rgba(255,0,0,.12);box-sizing:border-box;cursor:move}\n"
	".box.sel{border-color:#06f;background:rgba(0,102,255,.15)}\n"
	".box .h{position:absolute;right:-7px;bottom:-7px;width:14px;"
	"height:14px;background:#06f;border-radius:7px;cursor:nwse-resize;"
	"display:none}\n.box.sel .h{display:block}\n"
	".bar{margin:.6em 0}\nbutton,input[type=submit]{font:inherit;"
	"padding:.4em 1em;margin-right:.5em}\n"
	"fieldset{border:1px solid #bbb;margin:.6em 0;max-width:40em}\n"
	"textarea{width:100%;max-width:40em;box-sizing:border-box}\n"
	"#msg{color:#b00;font-weight:bold;min-height:1.4em}\n"
	"</style></head><body>\n";

static const char page_script[] =
	"<script>\n(function(){\n"
	"'use strict';\n"
	"var W=0,H=0,boxes=[],sel=-1,drag=null;\n"
	"var wrap=document.getElementById('wrap'),"
	"img=document.getElementById('img'),"
	"form=document.getElementById('mturk_form'),"
	"msg=document.getElementById('msg'),"
	"btn=document.getElementById('submitButton');\n"
	"W=parseInt(wrap.getAttribute('data-w'),10)||0;"
	"H=parseInt(wrap.getAttribute('data-h'),10)||0;\n"
	"function param(n){var m=new RegExp('[?&]'+n+'=([^&#]*)')"
	".exec(location.search);if(!m)return '';"
	"try{return decodeURIComponent(m[1].replace(/\\+/g,' '));}"
	"catch(e){return '';}}\n"
	"var aid=param('assignmentId');\n"
	"var preview=(aid===''||aid==='ASSIGNMENT_ID_NOT_AVAILABLE');\n"
	"document.getElementById('assignmentId').value=aid;\n"
	"var to=param('turkSubmitTo');\n"
	"if(!/^https?:\\/\\/[^\\s]+$/.test(to))to='https://www.mturk.com';\n"
	"form.action=to.replace(/\\/+$/,'')+'/mturk/externalSubmit';\n"
	"if(preview){btn.disabled=true;btn.value='Accept the HIT to start';"
	"msg.textContent='Preview: accept the HIT to start.';}\n"
	"function size(){if(!W||!H){W=img.naturalWidth;H=img.naturalHeight;}}\n"
	"function scale(){size();return W?img.clientWidth/W:1;}\n"
	"function clip(b){var x0=Math.max(0,Math.min(W,b.x)),"
	"y0=Math.max(0,Math.min(H,b.y)),x1=Math.max(0,Math.min(W,b.x+b.w)),"
	"y1=Math.max(0,Math.min(H,b.y+b.h));"
	"return{x:Math.min(x0,x1),y:Math.min(y0,y1),w:Math.abs(x1-x0),"
	"h:Math.abs(y1-y0)};}\n"
	"function draw(){var s=scale(),old=wrap.querySelectorAll('.box');"
	"for(var i=0;i<old.length;i++)wrap.removeChild(old[i]);"
	"boxes.forEach(function(b,i){var d=document.createElement('div');"
	"d.className='box'+(i===sel?' sel':'');d.setAttribute('data-i',i);"
	"d.style.left=(b.x*s)+'px';d.style.top=(b.y*s)+'px';"
	"d.style.width=(b.w*s)+'px';d.style.height=(b.h*s)+'px';"
	"var h=document.createElement('div');h.className='h';"
	"d.appendChild(h);wrap.appendChild(d);});"
	"document.getElementById('count').textContent=boxes.length;}\n"
	"function at(e){var r=wrap.getBoundingClientRect(),s=scale();"
	"return{x:(e.clientX-r.left)/s,y:(e.clientY-r.top)/s};}\n"
	"wrap.addEventListener('pointerdown',function(e){size();"
	"if(!W)return;e.preventDefault();var p=at(e),t=e.target,"
	"i=t.getAttribute('data-i');"
	"if(t.className==='h'){i=t.parentNode.getAttribute('data-i');"
	"sel=+i;drag={mode:'size',p:p,b:Object.assign({},boxes[sel])};}"
	"else if(i!==null){sel=+i;drag={mode:'move',p:p,"
	"b:Object.assign({},boxes[sel])};}"
	"else{boxes.push({x:p.x,y:p.y,w:0,h:0});sel=boxes.length-1;"
	"drag={mode:'new',p:p,b:{x:p.x,y:p.y,w:0,h:0}};}"
	"if(wrap.setPointerCapture&&e.pointerId!==undefined)"
	"wrap.setPointerCapture(e.pointerId);draw();});\n"
	"wrap.addEventListener('pointermove',function(e){if(!drag)return;"
	"e.preventDefault();var p=at(e),dx=p.x-drag.p.x,dy=p.y-drag.p.y,"
	"b=drag.b,n;"
	"if(drag.mode==='new')n={x:b.x,y:b.y,w:dx,h:dy};"
	"else if(drag.mode==='move'){n={x:Math.max(0,Math.min(W-b.w,b.x+dx)),"
	"y:Math.max(0,Math.min(H-b.h,b.y+dy)),w:b.w,h:b.h};}"
	"else n={x:b.x,y:b.y,w:Math.max(1,b.w+dx),h:Math.max(1,b.h+dy)};"
	"boxes[sel]=clip(n);draw();});\n"
	"function end(){if(!drag)return;var b=boxes[sel];"
	"if(drag.mode==='new'&&(b.w<3||b.h<3)){boxes.splice(sel,1);sel=-1;}"
	"drag=null;draw();}\n"
	"wrap.addEventListener('pointerup',end);"
	"wrap.addEventListener('pointercancel',end);\n"
	"document.getElementById('add').addEventListener('click',function(){"
	"size();if(!W)return;var s=Math.max(8,Math.round(Math.min(W,H)/5));"
	"boxes.push({x:Math.round((W-s)/2),y:Math.round((H-s)/2),w:s,h:s});"
	"sel=boxes.length-1;draw();});\n"
	"function remove(){if(sel<0)return;boxes.splice(sel,1);sel=-1;"
	"draw();}\n"
	"document.getElementById('remove').addEventListener('click',remove);\n"
	"document.addEventListener('keydown',function(e){"
	"if((e.key==='Delete'||e.key==='Backspace')&&"
	"e.target.tagName!=='TEXTAREA'){e.preventDefault();remove();}});\n"
	"window.addEventListener('resize',draw);img.addEventListener('load',"
	"draw);\n"
	"form.addEventListener('submit',function(e){"
	"if(preview){e.preventDefault();"
	"msg.textContent='Accept the HIT to start.';return;}"
	"var f=form.querySelector('input[name=face_found]:checked');"
	"if(!f){e.preventDefault();msg.textContent="
	"'Please answer: did you find a face?';return;}"
	"document.getElementById('boxes').value=JSON.stringify("
	"boxes.map(clip).filter(function(b){return b.w>=1&&b.h>=1;})"
	".map(function(b){return[Math.round(b.x),Math.round(b.y),"
	"Math.max(1,Math.round(b.w)),Math.max(1,Math.round(b.h))];}));});\n"
	"draw();\n})();\n</script>\n";

/* Appends s HTML-escaped for text or a quoted attribute. */
static int
append_escaped(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		const char *rep = NULL;
		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if ((rep != NULL ? buf_append_str(b, rep) : buf_append(b, s, 1)) != 0)
			return -1;
	}
	return 0;
}

static int
check_params(const struct task_page *p, struct errbuf *eb)
{
	const char *u = p->image_url;

	if (u == NULL || (strncmp(u, "https://", 8) != 0 &&
			  strncmp(u, "http://", 7) != 0))
		return err_set(eb, IF_EINPUT,
			       "task page: image URL \"%.100s\" is not an "
			       "http(s) URL",
			       u != NULL ? u : "(none)");
	for (const char *c = u; *c != '\0'; c++)
		if ((unsigned char)*c < 0x21 || *c == 0x7f)
			return err_set(eb, IF_EINPUT,
				       "task page: image URL has a space or "
				       "control character");
	if (p->width <= 0 || p->height <= 0 || p->width > 1000000 ||
	    p->height > 1000000)
		return err_set(eb, IF_EINPUT,
			       "task page: image size %dx%d is not valid",
			       p->width, p->height);
	return IF_OK;
}

int
task_page_html(const struct task_page *p, struct buf *out, struct errbuf *eb)
{
	int rc = check_params(p, eb);

	if (rc != IF_OK)
		return rc;
	rc = buf_append_str(out, page_head);
	rc |= buf_append_str(out, "<h1>Box anything that could identify a "
				  "person");
	if (p->stage > 0 && p->nstages > 0)
		rc |= buf_printf(out, " <small>(stage %d of %d)</small>",
				 p->stage, p->nstages);
	rc |= buf_append_str(
		out,
		"</h1>\n<div class=\"inst\"><p>The photo below is blurred on "
		"purpose, and parts of it may be blacked out. Draw a box over "
		"every <b>face</b> you can see, even a blurry one, and over "
		"anything else that could identify a person: documents, "
		"screens, licence plates, name tags.</p>\n<p>Drag on the image "
		"to draw a box. Click a box to select it; drag it to move it, "
		"drag its blue dot to resize it, and use <b>Remove box</b> (or "
		"the Delete key) to remove it. <b>Add box</b> puts a new box in "
		"the middle. Then answer the question and submit.</p></div>\n");
	rc |= buf_printf(out, "<div id=\"wrap\" data-w=\"%d\" data-h=\"%d\">"
			      "<img id=\"img\" alt=\"the image to check\" "
			      "width=\"%d\" height=\"%d\" src=\"",
			 p->width, p->height, p->width, p->height);
	rc |= append_escaped(out, p->image_url);
	rc |= buf_append_str(
		out,
		"\"></div>\n<div class=\"bar\"><button type=\"button\" "
		"id=\"add\">Add box</button><button type=\"button\" "
		"id=\"remove\">Remove box</button> Boxes: <span "
		"id=\"count\">0</span></div>\n"
		"<form name=\"mturk_form\" id=\"mturk_form\" method=\"post\" "
		"action=\"https://www.mturk.com/mturk/externalSubmit\">\n"
		"<input type=\"hidden\" name=\"assignmentId\" "
		"id=\"assignmentId\" value=\"\">\n"
		"<input type=\"hidden\" name=\"boxes\" id=\"boxes\" "
		"value=\"[]\">\n"
		"<fieldset><legend>Did you find a face?</legend>\n"
		"<label><input type=\"radio\" name=\"face_found\" "
		"value=\"yes\"> Yes</label>\n<label><input type=\"radio\" "
		"name=\"face_found\" value=\"no\"> No</label></fieldset>\n"
		"<p><label for=\"feedback\">Feedback (optional)</label><br>"
		"<textarea name=\"feedback\" id=\"feedback\" rows=\"3\" "
		"maxlength=\"2000\"></textarea></p>\n"
		"<p id=\"msg\" role=\"alert\"></p>\n"
		"<input type=\"submit\" id=\"submitButton\" value=\"Submit\">\n"
		"</form>\n");
	rc |= buf_append_str(out, page_script);
	rc |= buf_append_str(out, "</body></html>\n");
	if (rc != 0)
		return err_set(eb, IF_ERUNTIME,
			       "task page: out of memory or over the size cap");
	return IF_OK;
}

int
task_page_question(const struct task_page *p, struct buf *out,
		   struct errbuf *eb)
{
	size_t start = out->len;
	int rc;

	rc = buf_append_str(out, "<HTMLQuestion xmlns=\"" HTMLQUESTION_NS
				 "\"><HTMLContent><![CDATA[");
	if (rc != 0)
		return err_set(eb, IF_ERUNTIME, "task page: out of memory");
	rc = task_page_html(p, out, eb);
	if (rc != IF_OK)
		return rc;
	if (buf_append_str(out, "]]></HTMLContent><FrameHeight>0</FrameHeight>"
				"</HTMLQuestion>") != 0)
		return err_set(eb, IF_ERUNTIME, "task page: out of memory");
	if (out->len - start > TASK_QUESTION_MAX)
		return err_set(eb, IF_EINPUT,
			       "task page: the Question is %zu bytes, over "
			       "MTurk's limit of %d",
			       out->len - start, TASK_QUESTION_MAX);
	return IF_OK;
}
