;;; session.el --- one Emacs session of test_emacs.py: eglot against agentls  -*- lexical-binding: t -*-

;; Run as `emacs -q --batch -l session.el' in the workspace (see harness.py). The environment
;; says what to do: AGENTLS_INIT (the Emacs configuration under test, from docs/editors.md),
;; AGENTLS_BODY (forms run once Emacs has started, with the helpers below) and AGENTLS_RESULT
;; (where the outcome goes as JSON). Whatever happens, the result file is written and Emacs
;; exits.
;;
;; Keys are typed as keyboard macros, so they go through Emacs' command loop as a person's
;; do, minibuffer included (M-x, the code action menu); waiting is idle time, idle timers
;; included. A question that comes while nobody is
;; typing (the server asking to apply an edit) is answered from `T-answers'.

(require 'json)
(require 'seq)
(require 'subr-x)

(defvar T-result (make-hash-table :test #'equal) "What the body saw, for the assertions.")
(defvar T-messages nil "Every message shown in the echo area, newest first.")
(defvar T-questions nil "Every question asked (y-or-n-p, menus outside typing), newest first.")
(defvar T-answers nil "Answers to questions asked while nobody types, in order.")

(defun T-put (key value)
  "Keep VALUE under KEY (a string) in the result."
  (puthash key value T-result))

(advice-add 'message :around
            (lambda (message format &rest args)
              (let ((text (apply message format args)))
                (when text (push (substring-no-properties text) T-messages))
                text)))

(defun T--answer (question)
  (push question T-questions)
  (unless T-answers (error "Nobody was there to answer %S" question))
  (pop T-answers))

(advice-add 'y-or-n-p :around
            (lambda (y-or-n-p prompt)
              (if executing-kbd-macro
                  (funcall y-or-n-p prompt)
                (equal (T--answer (substring-no-properties prompt)) "y"))))

(advice-add 'completing-read :around
            (lambda (completing-read prompt collection &rest args)
              (if executing-kbd-macro
                  (apply completing-read prompt collection args)
                (T--answer (substring-no-properties prompt)))))

(defun T--run-idle-timers (idle ran)
  "Run the idle timers due after IDLE seconds without input that are not in RAN (those
already run in this idle spell); RAN with them added.
Batch Emacs never waits for input, so it never runs idle timers by itself, and eglot sends
the buffer's changes on one."
  (dolist (timer (copy-sequence timer-idle-list) ran)
    (unless (or (memq timer ran) (< idle (float-time (timer--time timer))))
      (push timer ran)
      (timer-event-handler timer))))

(defun T-wait (condition what &optional seconds)
  "Let Emacs run (process output, timers) until CONDITION holds; fail after SECONDS."
  (let* ((start (float-time)) (deadline (+ start (or seconds 20))) ran)
    (while (not (funcall condition))
      (when (> (float-time) deadline)
        (error "Timed out waiting until %s" what))
      (accept-process-output nil 0.02)
      (setq ran (T--run-idle-timers (- (float-time) start) ran)))))

(defun T--literal (text)
  "TEXT as keys that insert it in a completing minibuffer, where SPC and ? complete:
each of those is quoted with C-q, as a person would type them."
  (apply #'vconcat (mapcar (lambda (char) (if (memq char '(?\s ??)) (vector ?\C-q char) (vector char)))
                           text)))

(defun T-type (&rest keys)
  "Type KEYS: strings in `kbd' notation, or literal text after :text."
  (let ((macro []) literal)
    (dolist (key keys)
      (cond ((eq key :text) (setq literal t))
            (literal (setq macro (vconcat macro (T--literal key)) literal nil))
            (t (setq macro (vconcat macro (kbd key))))))
    (execute-kbd-macro macro)))

(defun T-open (file)
  "Visit FILE and connect it to agentls with M-x eglot."
  (find-file file)
  (T-type "M-x eglot RET")
  (T-wait (lambda () (and (eglot-current-server)
                          (eglot--server-capable :codeActionProvider)))
          "eglot connects to agentls"))

(defun T-select (first last)
  "Select lines FIRST to LAST: M-<, C-n to FIRST, C-SPC, C-n past LAST."
  (apply #'T-type "M-<" (append (make-list (1- first) "C-n") '("C-SPC")
                                (make-list (1+ (- last first)) "C-n"))))

(defun T-code-action (title)
  "Pick TITLE from M-x eglot-code-actions, typing it in the menu."
  (T-type "M-x eglot-code-actions RET" :text title "RET"))

(defun T-text () (buffer-substring-no-properties (point-min) (point-max)))

(defun T-shown (part)
  "The messages shown containing PART, oldest first."
  (seq-filter (lambda (m) (string-search part m)) (reverse T-messages)))

(defun T-diagnostics ()
  "The buffer's Flymake diagnostics: line, type and text of each."
  (mapcar (lambda (d)
            (let ((object (make-hash-table :test #'equal)))
              (puthash "line" (line-number-at-pos (flymake-diagnostic-beg d)) object)
              (puthash "type" (symbol-name (flymake-diagnostic-type d)) object)
              (puthash "text" (flymake-diagnostic-text d) object)
              object))
          (flymake-diagnostics)))

(defun T-fake-agents ()
  "The pids of this test's fake agents still running."
  (let ((fakes (getenv "AGENTLS_FAKES")) (mark (getenv "AGENTLS_MARK")) found)
    (dolist (pid (list-system-processes) found)
      (let* ((attributes (process-attributes pid))
             (args (alist-get 'args attributes)))
        (when (and args (string-search fakes args)
                   (not (member (alist-get 'state attributes) '("Z" "X")))
                   (with-temp-buffer
                     (ignore-errors
                       (insert-file-contents-literally (format "/proc/%d/environ" pid)))
                     (search-forward mark nil t)))
          (push pid found))))))

(defun T--finish (error-text)
  (let ((outcome (make-hash-table :test #'equal)))
    (puthash "ok" (if error-text :json-false t) outcome)
    (puthash "error" error-text outcome)
    (puthash "result" T-result outcome)
    (puthash "messages" (vconcat (reverse T-messages)) outcome)
    (puthash "questions" (vconcat (reverse T-questions)) outcome)
    (with-temp-file (getenv "AGENTLS_RESULT")
      (insert (json-encode outcome)))))

(setq make-backup-files nil auto-save-default nil create-lockfiles nil)
(transient-mark-mode 1)                 ; on in an interactive Emacs, off in batch
(condition-case failure
    (progn
      (load (getenv "AGENTLS_INIT") nil t)
      (require 'eglot)
      (load (getenv "AGENTLS_BODY") nil t)
      (T--finish nil))
  (error (T--finish (error-message-string failure))))
(kill-emacs 0)
;;; session.el ends here
